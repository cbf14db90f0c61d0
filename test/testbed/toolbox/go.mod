module loadtest-operator/testbed/toolbox

go 1.22
