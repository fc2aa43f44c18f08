# slarisk developer commands. Every target builds .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench serve api-spec clean venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $(STAMP)

venv: $(STAMP)

DEMO := demo_out
HIST := $(DEMO)/history
SLA := $(BIN)/slarisk

# The main job end to end on built-in synthetic data (no ../shared needed).
demo: $(STAMP)
	@echo "== 1. Synthetic 8-week desk history (tickets, status events, staffing, open snapshot)"
	$(SLA) data generate --scenario simulations/baseline.yaml --weeks 8 --seed 7 --out $(HIST)
	@echo "== 2. Import a help-desk export through a YAML mapping (no code needed)"
	$(SLA) data import --mapping mappings/zendesk.yaml tests/data/fixtures/zendesk_tickets.csv --out $(DEMO)/zendesk_tickets.parquet
	@echo "== 3. SLA compliance report (Wilson intervals, credits, exclusions) and live status"
	$(SLA) sla report --policy policies/default.yaml --tickets $(HIST)/tickets.parquet --events $(HIST)/events.parquet --by tier,month --format html --out $(DEMO)/sla_report.html
	$(SLA) sla status --policy policies/default.yaml --tickets $(HIST)/open_tickets.parquet --events $(HIST)/events.parquet --now "$$($(BIN)/python -c 'import json;print(json.load(open("$(HIST)/manifest.json"))["now"])')" --top 8
	@echo "== 4. Staffing from a two-week forecast (model chosen by backtest, 80/95% bands)"
	$(SLA) forecast fit $(HIST)/tickets.parquet --by channel --policy policies/default.yaml --out $(DEMO)/forecast_model.json
	$(SLA) forecast predict $(HIST)/tickets.parquet --by channel --policy policies/default.yaml --model $(DEMO)/forecast_model.json --horizon 14 --out $(DEMO)/volumes_forecast.csv
	$(SLA) capacity requirements $(DEMO)/volumes_forecast.csv --queue phone --queue chat --method erlang-a --patience 600 --target-sl 0.8 --within 60 --shrinkage 0.3 --max-occupancy 0.85 --out $(DEMO)/requirements_calls.csv
	$(SLA) capacity requirements $(DEMO)/volumes_forecast.csv --queue email --queue portal --method backlog --target-hours 8 --shrinkage 0.3 --out $(DEMO)/requirements_async.csv
	@echo "== 5. Simulation: baseline vs holiday peak (common random numbers, 95% intervals)"
	$(SLA) simulate simulations/baseline.yaml --compare simulations/holiday_peak.yaml --replications 4 --workers 2 --out $(DEMO)/simulation
	@echo "== 6. Breach-risk model: landmarks, Optuna (small budget), MLflow registry, champion export"
	$(SLA) train pipelines/breach_risk.yaml --data $(HIST) --trials 3
	@echo "== 7. Score the open queue with the champion: probability, reasons, work order"
	$(SLA) score --model champion $(HIST)/open_tickets.parquet --policy policies/default.yaml --staffing $(HIST)/staffing.parquet --history $(HIST)/tickets.parquet --events $(HIST)/events.parquet --now "$$($(BIN)/python -c 'import json;print(json.load(open("$(HIST)/manifest.json"))["now"])')" --out $(DEMO)/scores.csv
	@echo "== 8. A week's roster from the forecast requirement: least-cost shift plan (HiGHS), named roster (CP-SAT), verified by simulation with repair"
	$(SLA) schedule verify $(DEMO)/requirements_calls.csv $(DEMO)/requirements_async.csv --catalogue simulations/shifts.yaml --agents simulations/agents.yaml --scenario simulations/baseline.yaml --replications 5 --weeks 1 --plan-time 120 --roster-time 10 --out $(DEMO)/schedule
	@echo "== done: open $(DEMO)/sla_report.html, $(DEMO)/simulation/report.html and $(DEMO)/schedule/schedule.html; scores in $(DEMO)/scores.csv"

# The test suite with a line-coverage report (printed, no gate).
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --cov=slarisk --cov-report=term:skip-covered

lint: $(STAMP)
	$(BIN)/ruff check slarisk tests benchmarks
	$(BIN)/ruff format --check slarisk tests benchmarks
	$(BIN)/mypy slarisk
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m benchmarks --out benchmarks/results/last_run.json

# Start the HTTP service on 127.0.0.1:8000; trains the demo model first if there is no champion.
serve: $(STAMP)
	@test -f models/slarisk-breach-risk.pkl || { \
	  $(SLA) data generate --scenario simulations/baseline.yaml --weeks 8 --seed 7 --out $(HIST) && \
	  $(SLA) train pipelines/breach_risk.yaml --data $(HIST) --trials 3; }
	$(SLA) serve

api-spec: $(STAMP)
	$(BIN)/slarisk api-spec --out api/openapi.json

clean:
	rm -rf $(VENV) demo_out build *.egg-info
