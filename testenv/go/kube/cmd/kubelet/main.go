// kubelet, built as upstream's cmd/kubelet is. The real-node cluster
// (testenv/nodes/) runs one per node, each with a containerd of its own.
package main

import (
	"context"
	"os"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kubelet/app"
	"roost.dev/testenv/parentdeath"
)

func main() {
	parentdeath.Arm()
	os.Exit(cli.Run(app.NewKubeletCommand(context.Background())))
}
