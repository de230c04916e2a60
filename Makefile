# nexus-lab: `make lab` runs the default matrix, `make test` runs the tests.
# Both install what they need first: Debian packages with apt-get, npm
# packages with npm ci.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Host tools the lab uses (kernel packages are downloaded, never installed).
APT_PACKAGES := qemu-system-x86 mmdebstrap util-linux kmod cpio xz-utils zstd \
	e2fsprogs gcc-12 make dwarves libelf-dev perl git ca-certificates
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
LAB := node dist/lab/cli.js
LAB_ARGS ?=

.PHONY: help deps build lab test test-unit test-integration lint clean distclean

help:
	@echo "make lab     run the default matrix (Linux 6.1 and 6.12 cloud, quick profile)"
	@echo "make test    unit tests, kernel lint (checkpatch) and the integration run"
	@echo "make build   compile the lab and the scenario bundle (dist/)"
	@echo "make clean   remove dist/ and results/ (make distclean also drops .cache/)"
	@echo "LAB_ARGS='--kernels all' make lab   passes options to 'nexus-lab run'"

# Installs only what is missing, so a ready machine does not touch apt.  The
# package lists are refreshed when older than a day: the lab resolves the
# newest kernel packages from them.
deps:
	@if ! find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | grep -q .; then \
		echo "refreshing apt package lists"; $(SUDO) apt-get update; fi
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# tsc takes seconds: only run it when a source changed.
TS_SOURCES := $(shell find lab scenarios test -name '*.ts' 2>/dev/null)
dist/.built: $(TS_SOURCES) tsconfig.json node_modules/.package-lock.json
	npx tsc -p tsconfig.json
	@touch $@

build: dist/.built

lab: deps build
	$(LAB) run $(LAB_ARGS)

test-unit: build
	npx uvu dist/test/unit '\.test\.js$$'

lint: deps
	tools/checkpatch.sh kernel

test-integration: deps build
	npx uvu dist/test/integration '\.test\.js$$'

test: deps build test-unit lint test-integration

clean:
	rm -rf dist results

distclean: clean
	rm -rf .cache node_modules
