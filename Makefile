# Single entry point. `make up` / `make test` work on a fresh machine: they install what they need first.
VENV   := .venv
PY     := $(VENV)/bin/python
STACK  := $(PY) infra/local/stack.py
ROLE   ?= developer

.PHONY: setup build console font browser up down dev test test-unit test-stack bench token events lint clean package

$(VENV)/.installed: infra/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $@

setup: $(VENV)/.installed

SAMVENV := .venv-sam
SAM     := SAM_CLI_TELEMETRY=0 $(SAMVENV)/bin/sam
$(SAMVENV)/.installed: infra/requirements-sam.txt
	python3 -m venv $(SAMVENV)
	$(SAMVENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-sam.txt
	touch $@

build:
	cargo build --bin every-function

# The web console (console/): Node.js from the distribution, packages from the committed lockfile, built to
# console/dist (its API types generated from docs/openapi.yaml first, then type-checked).
console/node_modules/.installed: console/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $@

console: console/node_modules/.installed
	cd console && npm run --silent build

# A CJK font, from the distribution's packages: the local stack uploads it for posters (POST /app/card/poster),
# and the browser tests' screenshots read with it.
FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
$(FONT):
	@apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei; } \
		|| echo "no CJK font installed: POST /app/card/poster answers 503 until one is uploaded (README, Deploying)"

font: $(FONT)

# The browser tests' Chromium, from the distribution's packages.
browser: font
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

up: setup build console font
	$(STACK) up

down:
	@test -x $(PY) && $(STACK) down || true

dev: setup build console font
	$(STACK) dev

token:
	@$(STACK) token $(ROLE)

# The newest events on the bus (read from its log group in the emulator): make events N=50
N ?= 20
events:
	@$(STACK) events $(N)

lint: setup $(SAMVENV)/.installed
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --template template.yaml
	$(SAM) validate --region us-east-1 --template template.yaml
	$(PY) infra/check_permissions.py
	$(PY) infra/check_openapi.py
	$(PY) infra/local/check_fast_dynamodb.py

# Every test: unit tests, template lint, then the black-box and browser tests against a freshly started local stack.
test: setup lint build console browser
	bash infra/run-tests.sh

bench: setup build
	bash bench/run.sh

# Every function for arm64 Lambda (provided.al2023) in one cargo invocation, laid out for `sam deploy`
# (.aws-sam/build). Installs the arm64 target and cross linker on first use.
PKG_ENV := CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
	CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
package: setup
	@rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	@command -v aarch64-linux-gnu-gcc >/dev/null || { apt-get update -qq && apt-get install -y -qq gcc-aarch64-linux-gnu; }
	$(PKG_ENV) cargo build --profile deploy --target aarch64-unknown-linux-gnu --bin every-function
	$(PY) infra/package.py

clean: down
	rm -rf .local
