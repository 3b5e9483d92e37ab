# Shared by the scripts that need the nightly toolchain (miri, sanitizers, os-tls).
# Sourced, not run:  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# CI runs on a fresh machine, so each script installs what it needs itself.

# Installs the nightly toolchain if missing, then each component given (`rust-src`,
# `miri`) that it lacks.
ensure_nightly() {
    if ! rustup run nightly rustc --version >/dev/null 2>&1; then
        rustup toolchain install nightly --profile minimal
    fi
    local installed missing=()
    installed="$(rustup component list --toolchain nightly --installed)"
    local component
    for component in "$@"; do
        # Installed components are listed with the host triple (`miri-x86_64-...`), except
        # target-independent ones (`rust-src`).
        if ! grep -Eq "^${component}(-|$)" <<<"$installed"; then
            missing+=("$component")
        fi
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        rustup component add --toolchain nightly "${missing[@]}"
    fi
}

# The host triple of the nightly toolchain (`x86_64-unknown-linux-gnu` on CI).
nightly_host() {
    rustc +nightly -vV | sed -n 's/^host: //p'
}

# Cargo's target directory: `CARGO_TARGET_DIR`, a config's `build.target-dir`, or
# `target` at the workspace root. The nightly runs build in subdirectories of it, one per
# set of flags, so that they never rebuild each other or the stable build.
cargo_target_dir() {
    local dir
    dir="$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p' || true)"
    echo "${dir:-target}"
}
