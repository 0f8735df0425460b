// CoreDNS, built as upstream's coredns.go is, with its default plugin set.
// The real-node cluster runs it so that pods resolve Services by name.
package main

import (
	_ "github.com/coredns/coredns/core/plugin"
	"github.com/coredns/coredns/coremain"
	"roost.dev/testenv/parentdeath"
)

func main() {
	parentdeath.Arm()
	coremain.Run()
}
