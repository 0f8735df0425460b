// kube-scheduler, built as upstream's cmd/kube-scheduler is: it places the
// real-node cluster's Pods (Roost's own scheduler places Sandboxes, not Pods).
package main

import (
	"os"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"roost.dev/testenv/parentdeath"
)

func main() {
	parentdeath.Arm()
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
