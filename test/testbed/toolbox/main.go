// The test bed's toolbox image (test/testbed/toolbox-image.sh): one static binary that the real node's tests
// run in pods, so that they need no registry and no base image. Without arguments it behaves as a pod sandbox
// ("pause"): it waits for SIGTERM or SIGINT and reaps orphaned children.
//
//	toolbox [pause]            wait for SIGTERM/SIGINT, then exit 0
//	toolbox echo [--wait] W... print the words on stdout (then wait, with --wait)
//	toolbox get URL            HTTP GET: print the body, exit 1 on any error or a status >= 400
//	toolbox resolve NAME       print NAME's addresses (the pure Go resolver: /etc/resolv.conf, search, ndots)
//	toolbox hog MIB            allocate and touch MIB mebibytes, then wait
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	args := os.Args[1:]
	command := "pause"
	if len(args) > 0 {
		command, args = args[0], args[1:]
	}
	switch command {
	case "pause":
		pause()
	case "echo":
		wait := len(args) > 0 && args[0] == "--wait"
		if wait {
			args = args[1:]
		}
		fmt.Println(strings.Join(args, " "))
		if wait {
			pause()
		}
	case "get":
		need(args, 1, "get URL")
		get(args[0])
	case "resolve":
		need(args, 1, "resolve NAME")
		addresses, err := net.LookupHost(args[0])
		if err != nil {
			fail("resolve %s: %v", args[0], err)
		}
		fmt.Println(strings.Join(addresses, " "))
	case "hog":
		need(args, 1, "hog MIB")
		mib, err := strconv.Atoi(args[0])
		if err != nil || mib <= 0 {
			fail("hog: %q is not a positive number of MiB", args[0])
		}
		hog(mib)
	default:
		fail("unknown command %q (pause, echo, get, resolve, hog)", command)
	}
}

// pause waits for SIGTERM or SIGINT, reaping children meanwhile (it is PID 1 of a sandbox).
func pause() {
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

func get(url string) {
	client := http.Client{Timeout: 10 * time.Second}
	response, err := client.Get(url)
	if err != nil {
		fail("get %s: %v", url, err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		fail("get %s: reading the body: %v", url, err)
	}
	fmt.Print(string(body))
	if response.StatusCode >= 400 {
		fail("get %s: status %d", url, response.StatusCode)
	}
}

// hog keeps every page it allocates (the kernel counts only touched pages against the memory limit).
var kept [][]byte

func hog(mib int) {
	for i := 0; i < mib; i++ {
		chunk := make([]byte, 1<<20)
		for j := range chunk {
			chunk[j] = byte(j)
		}
		kept = append(kept, chunk)
	}
	fmt.Printf("allocated %d MiB\n", mib)
	pause()
}

func need(args []string, count int, usage string) {
	if len(args) < count {
		fail("usage: toolbox %s", usage)
	}
}

func fail(format string, values ...any) {
	fmt.Fprintf(os.Stderr, "toolbox: "+format+"\n", values...)
	os.Exit(1)
}
