// kube-proxy, built as upstream's cmd/kube-proxy is: it programs Services
// into nftables for the real-node cluster.
package main

import (
	"os"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-proxy/app"
	"roost.dev/testenv/parentdeath"
)

func main() {
	parentdeath.Arm()
	os.Exit(cli.Run(app.NewProxyCommand()))
}
