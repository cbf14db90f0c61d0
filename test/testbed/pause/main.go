// The test bed's pod sandbox ("pause") image: containerd's sandbox_image cannot be pulled on machines without a
// registry, so the test bed builds this one (test/testbed/images.sh pause). Like Kubernetes' own
// build/pause/linux/pause.c it holds the pod's namespaces, reaps orphaned children (it is PID 1 when the pod
// shares its process namespace) and exits 0 on SIGTERM or SIGINT.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if os.Getpid() != 1 {
		os.Stderr.WriteString("warning: pause should be the first process\n")
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
