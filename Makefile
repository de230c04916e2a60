# nexus-lab: `make lab` runs the default matrix, `make test` runs the tests.
# Both install what they need first: Debian packages with apt-get, npm
# packages with npm ci.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Host tools the lab uses (kernel packages are downloaded, never installed;
# bc, bison, flex and libssl-dev build the debug kernels).
APT_PACKAGES := qemu-system-x86 mmdebstrap util-linux kmod cpio xz-utils zstd \
	e2fsprogs gcc-12 make dwarves libelf-dev perl git ca-certificates \
	gcc libc6-dev linux-libc-dev \
	dpkg-dev debhelper dh-dkms lintian qemu-utils chromium \
	bc bison flex libssl-dev
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
LAB := node dist/lab/cli.js
LAB_ARGS ?=

.PHONY: help deps build native lab test test-unit test-integration lint deb clean distclean

help:
	@echo "make lab     run the default matrix (Linux 6.1 and 6.12 cloud, quick profile)"
	@echo "make test    unit tests, kernel lint (checkpatch) and the integration run"
	@echo "make build   compile the lab and the scenario bundle (dist/), native parts included"
	@echo "make deb     build dist/nexus-dkms_<version>_all.deb (dh + dh-dkms) and lintian it"
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

# Native userspace, built on the host for the guests (both Debian bookworm,
# same glibc): libnexus.a (kernel/libnexus), the node binding nexus.node and
# one program per scenarios/native/nexus-*.c, all linked with libnexus.a.
# The guest gets them with the rest of dist/scenarios.
NATIVE_CC ?= gcc
NATIVE_CFLAGS ?= -O2
NATIVE_BUILD := dist/native-build
NATIVE_OUT := dist/scenarios/native
LIBNEXUS := $(NATIVE_BUILD)/libnexus.a
NATIVE_INCLUDES := -Ikernel/include -Ikernel/libnexus
NATIVE_WARN := -Wall -Wextra -Werror -std=gnu11
NATIVE_PROGRAMS := $(patsubst scenarios/native/%.c,$(NATIVE_OUT)/%,$(wildcard scenarios/native/nexus-*.c))
# node_api.h: next to the node that runs the lab (<prefix>/include/node, the
# link or its target), else /usr/include/node.  NODE_INCLUDE=<dir> overrides.
NODE_INCLUDE ?= $(firstword $(foreach d,$(addsuffix /include/node,$(shell n=$$(command -v node 2>/dev/null) && \
	for p in "$$n" "$$(readlink -f "$$n")"; do dirname "$$(dirname "$$p")"; done)) /usr/include/node,\
	$(if $(wildcard $(d)/node_api.h),$(d))))

$(LIBNEXUS): $(wildcard kernel/libnexus/*.c kernel/libnexus/*.h) kernel/libnexus/Makefile kernel/include/nexus.h
	$(MAKE) --no-print-directory -C kernel/libnexus O=$(abspath $(NATIVE_BUILD)) CC=$(NATIVE_CC) CFLAGS='$(NATIVE_CFLAGS)'

# nexus.node: one object per scenarios/native/binding/*.c (the binding is laid
# out like kernel/nexus/), hidden symbols but the module's init.  Header
# dependencies come from -MMD (dist/native-build/*.d, binding/*.d).
BINDING_OBJS := $(patsubst scenarios/native/binding/%.c,$(NATIVE_BUILD)/binding/%.o,$(wildcard scenarios/native/binding/*.c))

$(NATIVE_BUILD)/binding/%.o: scenarios/native/binding/%.c
	@if [ ! -f '$(NODE_INCLUDE)/node_api.h' ]; then \
		echo "error: node's C headers (node_api.h) are missing: looked in <node prefix>/include/node and" \
			"/usr/include/node. Install them (Debian: the nodejs package) or set NODE_INCLUDE=<dir>." >&2; \
		exit 1; fi
	@mkdir -p $(@D)
	$(NATIVE_CC) $(NATIVE_CFLAGS) $(NATIVE_WARN) -fPIC -fvisibility=hidden $(NATIVE_INCLUDES) -I$(NODE_INCLUDE) \
		-MMD -MP -MF $(@:.o=.d) -c -o $@ $<

$(NATIVE_OUT)/nexus.node: $(BINDING_OBJS) $(LIBNEXUS)
	@mkdir -p $(@D)
	$(NATIVE_CC) $(NATIVE_CFLAGS) -shared -o $@ $(BINDING_OBJS) $(LIBNEXUS) -lpthread

$(NATIVE_PROGRAMS): $(NATIVE_OUT)/%: scenarios/native/%.c $(LIBNEXUS)
	@mkdir -p $(@D) $(NATIVE_BUILD)
	$(NATIVE_CC) $(NATIVE_CFLAGS) $(NATIVE_WARN) $(NATIVE_INCLUDES) \
		-MMD -MP -MF $(NATIVE_BUILD)/$(@F).d -o $@ $< $(LIBNEXUS) -lpthread

# nexus-*.d only: nexus.node.d, left by the single-file binding, names a
# source that is gone.
-include $(wildcard $(NATIVE_BUILD)/nexus-*.d $(NATIVE_BUILD)/binding/*.d)

native: $(NATIVE_OUT)/nexus.node $(NATIVE_PROGRAMS)

build: dist/.built native

lab: deps build
	$(LAB) run $(LAB_ARGS)

test-unit: build
	npx uvu dist/test/unit '\.test\.js$$'

lint: deps
	tools/checkpatch.sh kernel
	tools/checkpatch.sh tools/splat-module

# On failure, what failed is printed last: a CI log keeps only its tail.
test-integration: deps build
	npx uvu dist/test/integration '\.test\.js$$' || { node tools/failures.mjs results/integration; exit 1; }

test: deps build test-unit lint test-integration

# The nexus-dkms package from kernel/ (version: PACKAGE_VERSION in
# kernel/dkms.conf), written to dist/nexus-dkms_<version>_all.deb and checked
# with lintian --fail-on error,warning.  See 'nexus-lab package --help'.
deb: deps build
	$(LAB) package --out dist --lint

clean:
	rm -rf dist results

distclean: clean
	rm -rf .cache node_modules
