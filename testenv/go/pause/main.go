// pause holds a pod's namespaces open, as the upstream pause image does: it
// waits for SIGINT or SIGTERM and reaps any child re-parented to it. Built
// static (CGO_ENABLED=0) into a FROM-scratch image, because the registry
// that serves the upstream image cannot be reached from here.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
