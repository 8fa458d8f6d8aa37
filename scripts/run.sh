#!/usr/bin/env bash
# `make run`: starts Osprey on its embedded store, with a live demo workload of AI
# microservices sent over OTLP/HTTP, and Osprey scraping its own /metrics every 5 s so
# PromQL has data at once. Ctrl-C stops both.
set -eu
data_dir=${OSPREY_DATA_DIR:-./data}
api=${OSPREY_HTTP_ADDR:-127.0.0.1:8080}
otlp_http=${OSPREY_OTLP_HTTP_ADDR:-127.0.0.1:4318}

mkdir -p "$data_dir"
config="$data_dir/demo-scrape.yml"
cat >"$config" <<YAML
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: osprey
    static_configs:
      - targets: ['$api']
YAML

bin/osprey serve --config "$config" --data-dir "$data_dir" --http-addr "$api" \
    --otlp-http-addr "$otlp_http" &
server=$!
demo=
stop() {
    trap - INT TERM EXIT
    set +e # a child ended by a signal (status 143) must not end the script before the rest
    [ -n "$demo" ] && kill "$demo" 2>/dev/null && wait "$demo" 2>/dev/null
    kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
    exit 0
}
trap stop INT TERM EXIT

for _ in $(seq 1 100); do
    curl -fsS "http://$api/readyz" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { echo "osprey exited during start-up" >&2; exit 1; }
    sleep 0.1
done

bin/osprey demo --endpoint "http://$otlp_http" &
demo=$!
cat <<MSG

  Osprey is running with its embedded store in $data_dir and a demo workload.
    web console:   http://$api/
    services:      curl http://$api/api/v1/services
    recent traces: curl 'http://$api/api/v1/traces?limit=5'
    Jaeger API:    http://$api/api/traces?service=api-gateway
    self-metrics:  http://$api/metrics (scraped every 5 s into Osprey itself)
    PromQL:        curl http://$api/api/v1/query --data-urlencode 'query=sum by (protocol) (rate(osprey_spans_accepted_total[1m]))'
    Prometheus API for Grafana: http://$api (data source type Prometheus)
  Send your own OTLP to grpc://127.0.0.1:4317 or http://$otlp_http, or remote-write to
  http://$api/api/v1/write. Ctrl-C stops.

MSG
wait "$server"
