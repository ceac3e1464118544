# Kustosz — two commands: `make demo` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
# pytest-xdist workers for `make test`. 5 on the 2-core test machine: many tests wait on real
# servers, clocks and subprocesses (the 10-minute database outage uses a minute of CPU), so
# workers past the cores fill the idle CPU. A fresh clone's run, AMD EPYC, 2026-11-27: 3
# workers left the CPU idle 923 core-seconds of 40:45, 4 workers 265 of 32:41; Intel Xeon,
# 2026-11-28: 4 workers 87.8 % busy over 28:35 (the short tests collected last mostly wait),
# 5 workers 94.2 % over 24:02 (issue 52 item 7). TEST_WORKERS=0 runs it in one process. The workers steal from each other (--dist
# worksteal) and the longest tests, as tests/durations.json measured them, start first on
# every worker (tests/support/slow_first.py): no 10-minute test begins near the run's end.
TEST_WORKERS ?= 5

# Debian packages the tests use: GStreamer's RTSP server (a real camera for the recorder tests),
# util-linux's `logger` (a real syslog client), chromium (the web app's real-browser test),
# slapd with ldap-utils (a real LDAP directory for the directory-login test), postfix (a real
# mail server journalling to the listener; the test runs its own instance on 127.0.0.1) and
# dovecot-imapd (a real IMAP journal mailbox; the tests run their own instance on 127.0.0.1),
# ghostscript and poppler-utils (the tests read rendered PDFs back: text and word positions),
# systemd (systemd-analyze verify/security, sysusers and tmpfiles check the service units),
# rsyslog with rsyslog-relp (a real sender for the RELP listener), postgresql-client (pg_dump
# for backups of a PostgreSQL vault, psql loads the upgrade test's old schema), e2fsprogs
# (chattr: an unwritable backup folder even for root), ceph-mon ceph-osd radosgw ceph-common
# (a real Ceph RGW: S3 with Object Lock; tests/support/ceph_rgw.py runs a throw-away one-OSD
# cluster on 127.0.0.1; the packages start no daemon of their own without a configured cluster).
# fonts-dejavu-core: DejaVu Sans, which ffmpeg's drawtext burns the time and the copy's number
# into a playable copy with (custody/playable.py; a production host needs it too).
# mmdebstrap: the clean Debian 12 root tests/test_deb_package.py installs the .deb into.
# nodejs: `npm ci` installs axe-core (package-lock.json) for the accessibility tests; npm is not
# listed: NodeSource's nodejs carries it and conflicts with Debian's npm ($(NODE_STAMP) adds that).
# nginx-light: bench/playback.py's baseline (sendfile), run by the suite in its smallest form
# (tests/test_bench_smoke.py); its package starts a system nginx on port 80 where it can, which
# is stopped and disabled right after installing (the bench runs its own, on a free port).
# b3sum: BLAKE3's reference implementation, bench/floors.py's measure of BLAKE3 beside SHA-256
# (issue 68 item 8: the digest's own speed is the recorders' floor).
DEB_PACKAGES := python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly \
	gstreamer1.0-libav bsdutils chromium chromium-l10n slapd ldap-utils postfix dovecot-imapd \
	ghostscript poppler-utils systemd rsyslog rsyslog-relp postgresql-client e2fsprogs \
	ceph-mon ceph-osd radosgw ceph-common fonts-dejavu-core libgl1 libglib2.0-0 mmdebstrap \
	nodejs sip-tester sox espeak-ng tcpdump nginx-light b3sum

.PHONY: demo test lint bench deb-packages clean
.PHONY: lock upgrade-deps
.PHONY: docs

# The exact versions the suite passes with, pip-tools' output with every file's SHA-256 (README,
# "Dependencies and why": why pip-tools): requirements.lock is what Kustosz runs on (the .deb
# installs it), requirements-test.lock is that plus every extra at the same versions (make test,
# make demo, CI). pyproject.toml keeps the `>=` floors for those who install Kustosz as a library.
# A changed lock re-installs; what it no longer pins is uninstalled (as pip-sync would), so the
# venv is the lock and nothing else (tests/test_lock.py).
LOCK      := requirements.lock
TEST_LOCK := requirements-test.lock
PIP_TOOLS := $(VENV)/.pip-tools
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(PIP_TOOLS)/bin/pip-compile --quiet \
	--generate-hashes --reuse-hashes --strip-extras --allow-unsafe \
	--no-emit-index-url --no-emit-find-links --no-emit-trusted-host $(LOCK_ARGS)

$(STAMP): pyproject.toml $(LOCK) $(TEST_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile --require-hashes -r $(TEST_LOCK)
	$(BIN)/pip install --quiet --no-compile --no-deps -e .
	@# pip byte-compiles on one core (16 of its 39 s on the 2-core test machine); compileall
	@# does it on all of them. Only a cache: a file it cannot compile is compiled (and fails)
	@# when imported, as it would after pip.
	-@$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null
	@$(BIN)/pip list --format=freeze --exclude-editable --exclude pip --exclude setuptools \
		--exclude wheel | sed 's/==.*//' | tr A-Z a-z | sed -E 's/[-_.]+/-/g' | sort \
		> $(VENV)/.names-installed
	@sed -nE 's/^([A-Za-z0-9][A-Za-z0-9._-]*)==.*/\1/p' $(TEST_LOCK) | tr A-Z a-z \
		| sed -E 's/[-_.]+/-/g' | sort > $(VENV)/.names-locked
	@extra=$$(comm -23 $(VENV)/.names-installed $(VENV)/.names-locked); \
	if [ -n "$$extra" ]; then echo "not in $(TEST_LOCK), uninstalled:" $$extra; \
		$(BIN)/pip uninstall --quiet --yes $$extra; fi
	$(BIN)/pip check
	touch $(STAMP)

# axe-core at the version package-lock.json pins (with its SHA-512), for tests/a11y: the
# accessibility tests inject node_modules/axe-core/axe.min.js into Debian's Chromium, nothing is
# fetched while they run. --ignore-scripts: no package runs code at install time.
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package.json package-lock.json | deb-packages
	@if ! command -v npm >/dev/null && [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; fi; \
	if ! command -v npm >/dev/null; then \
		echo "no npm: the accessibility tests (tests/a11y) will skip"; exit 0; fi; \
	npm ci --ignore-scripts --no-audit --no-fund && touch $(NODE_STAMP)

$(PIP_TOOLS)/bin/pip-compile:
	$(PYTHON) -m venv $(PIP_TOOLS)
	$(PIP_TOOLS)/bin/pip install --quiet pip-tools==7.6.2

# After a dependency is added to or changed in pyproject.toml: both locks resolved again, every
# pin that still fits kept (the test lock constrained by the runtime lock: the same versions).
lock: $(PIP_TOOLS)/bin/pip-compile
	$(PIP_COMPILE) -o $(LOCK) pyproject.toml
	$(PIP_COMPILE) --all-extras -c $(LOCK) -o $(TEST_LOCK) pyproject.toml

# The newest versions pyproject.toml's floors allow, installed, then the whole suite on them:
# commit the two locks only when it passes (README, "Dependencies and why").
upgrade-deps:
	$(MAKE) lock LOCK_ARGS=--upgrade
	$(MAKE) test

# Run again, the demo goes on with ./demo-data as it was left (what was tried in it is kept);
# `make demo ARGS=--fresh` deletes it and starts over (kustosz demo --fresh).
demo: $(STAMP)
	$(BIN)/kustosz demo --gmina $(ARGS)

# Postfix is preseeded to "No configuration": it then writes no /etc/postfix/main.cf and starts
# no system mail server on port 25 (its init script does nothing without main.cf).
# Dovecot's package starts a system IMAP server on 143/993 where it can: it is stopped right
# after installing, so that no test can come to depend on it (they start their own).
deb-packages:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian packages for the tests: $$missing"; \
		echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing && \
		{ if echo "$$missing" | grep -qx dovecot-imapd; then \
			(systemctl stop dovecot.socket dovecot || invoke-rc.d dovecot stop) >/dev/null 2>&1 || true; fi; }; \
		{ if echo "$$missing" | grep -qx nginx-light; then \
			(systemctl disable --now nginx || invoke-rc.d nginx stop) >/dev/null 2>&1 || true; fi; }; \
	else \
		echo "not root: tests that need these Debian packages will skip: $$missing"; \
	fi

# The tests' own folders (pytest's --basetemp) in memory where /dev/shm is a tmpfs with room
# (4 GiB; a run leaves ~0.3 GiB): the test disk of this project's machines is ext4 mounted with
# `discard`, where every deleted file cost a TRIM and every fsync a journal commit — SQLite's
# WAL, the vault's atomic writes and the folders pytest and the tests remove (issue 52 item 7).
# Nothing the tests check depends on the disk: the full-disk tests mount tmpfs disks of their
# own, and the tests that need a folder other accounts can reach make theirs in /tmp.
# `make test TEST_TMP=` keeps pytest's default (/tmp/pytest-of-USER).
TEST_TMP ?= $(shell [ -d /dev/shm ] && [ -w /dev/shm ] \
	&& [ "$$(df --output=avail -k /dev/shm 2>/dev/null | tail -n1)" -gt 4194304 ] 2>/dev/null \
	&& echo /dev/shm/kustosz-tests-$$(id -u))

# The suite writes byte-code (env -u PYTHONDONTWRITEBYTECODE, which this project's CI machines
# set): every `kustosz` the tests start, every xdist worker and every helper script otherwise
# compiled the program and the tests from source again, and pytest rewrote each test module's
# asserts again in each worker — ~0.4 s of each process's 1.5 s start, and three quarters of
# each worker's collection (issue 52 item 7). The files go to __pycache__ (.gitignore). With
# several workers the suite is collected once beforehand, split over the cores, so that the
# workers find that byte-code instead of all making it at once (tests/support/precollect.py).
test: $(STAMP) deb-packages $(NODE_STAMP)
	$(BIN)/ruff check .
	@if [ -z "$$KUSTOSZ_TEST_PG" ] && $(BIN)/python -c "import psycopg; \
		psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		echo "PostgreSQL answers at $(PG_URL): running the PostgreSQL tests too"; \
		export KUSTOSZ_TEST_PG='$(PG_URL)'; fi; \
	$(if $(filter-out 0 1,$(TEST_WORKERS)),env -u PYTHONDONTWRITEBYTECODE \
		$(BIN)/python -m tests.support.precollect;) \
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q -p no:cacheprovider --durations=30 \
		-n $(TEST_WORKERS) --dist worksteal $(if $(TEST_TMP),--basetemp=$(TEST_TMP))

# A benchmark that cannot run here (a package or service missing: bench/_smoke.py's SKIPPED,
# 77) says why and the others still run.
bench: $(STAMP) deb-packages
	$(BIN)/python bench/floors.py || [ $$? -eq 77 ]
	$(BIN)/python bench/recorders.py || [ $$? -eq 77 ]
	$(BIN)/python bench/calls.py || [ $$? -eq 77 ]
	$(BIN)/python bench/export.py || [ $$? -eq 77 ]
	$(BIN)/python bench/playback.py || [ $$? -eq 77 ]
	$(BIN)/python bench/retention.py || [ $$? -eq 77 ]
	$(BIN)/python bench/events.py || [ $$? -eq 77 ]
	$(BIN)/python bench/siprec.py || [ $$? -eq 77 ]
	$(BIN)/python bench/refusal_flood.py || [ $$? -eq 77 ]
	$(BIN)/python bench/playable.py || [ $$? -eq 77 ]
	$(BIN)/python bench/s3_upload.py || [ $$? -eq 77 ]
	$(BIN)/python bench/masking.py || [ $$? -eq 77 ]
	$(BIN)/python bench/failover.py || [ $$? -eq 77 ]

# The documentation site into site/ (MkDocs + Material): strict, so a broken link or anchor fails
# the build; the CLI and API references are generated from the program (docs/hooks/).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# The Debian package (docs/install.md): dist/kustosz_VERSION_ARCH.deb with its own locked
# environment in /opt/kustosz/.venv; built by Debian 12's python3 and dpkg-deb
# (packaging/deb/build.py), so only on Debian 12. tests/test_deb_package.py installs it
# into a clean Debian 12 root.
.PHONY: deb
deb:
	/usr/bin/python3 packaging/deb/build.py --out dist

clean:
	rm -rf $(VENV) node_modules demo-data bench/out .pytest_cache .ruff_cache
