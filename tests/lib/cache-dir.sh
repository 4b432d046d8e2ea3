#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Prints where the tests keep what they download (never in the source tree):
# $KABI_DEPS_KERNEL_CACHE, else /var/cache/kabi-deps-test when writable,
# else ~/.cache/kabi-deps-test.
cache=${KABI_DEPS_KERNEL_CACHE:-}
if [ -z "$cache" ]; then
	cache=/var/cache/kabi-deps-test
	if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
		cache=${XDG_CACHE_HOME:-$HOME/.cache}/kabi-deps-test
	fi
fi
mkdir -p "$cache" && printf '%s\n' "$cache"
