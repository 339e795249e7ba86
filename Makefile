# Single entry point. `make up` / `make test` work on a fresh machine: they install what they need first.
VENV   := .venv
PY     := $(VENV)/bin/python
STACK  := $(PY) infra/local/stack.py
ROLE   ?= developer

.PHONY: setup build up down dev test test-unit test-stack bench token events lint clean

$(VENV)/.installed: infra/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $@

setup: $(VENV)/.installed

build:
	cargo build --bins

up: setup build
	$(STACK) up

down:
	@test -x $(PY) && $(STACK) down || true

dev: setup build
	$(STACK) dev

token:
	@$(STACK) token $(ROLE)

# The newest events on the bus (read from its log group in the emulator): make events N=50
N ?= 20
events:
	@$(STACK) events $(N)

lint: setup
	$(VENV)/bin/cfn-lint template.yaml
	$(PY) infra/check_permissions.py
	$(PY) infra/check_openapi.py
	$(PY) infra/local/check_fast_dynamodb.py

# Every test: unit tests, template lint, then the black-box tests against a freshly started local stack.
test: setup lint build
	bash infra/run-tests.sh

bench: setup build
	bash bench/run.sh

clean: down
	rm -rf .local
