# Shared by scripts/bootstrap and scripts/system-deps (sourced, not run).

# The interpreter the venv is made with: $IAMCLI_PYTHON when set (and only it), else python3.11,
# else python3. Prints its path; fails (status 1, nothing printed) when none is found.
find_python() {
    local candidate candidates=(python3.11 python3)
    [ -z "${IAMCLI_PYTHON:-}" ] || candidates=("$IAMCLI_PYTHON")
    for candidate in "${candidates[@]}"; do
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# True when "$1" is Python 3.11 or newer.
python_is_recent() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

# True when "$1" can make a venv with pip in it (Debian splits ensurepip into python3-venv).
python_can_venv() {
    "$1" -c 'import ensurepip, venv' >/dev/null 2>&1
}
