module loadtest-operator/testbed/pause

go 1.22
