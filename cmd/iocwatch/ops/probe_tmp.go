package ops

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var _ = prometheus.NewRegistry
var _ = promhttp.HandlerFor
