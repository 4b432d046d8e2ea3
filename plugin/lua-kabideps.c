/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Lua entry point of libkabideps, loaded into rpmbuild's own Lua by the
 * kabideps.attr generators (package.loadlib), so that no process is started
 * per module.  It is built against the headers of the Lua that rpm embeds
 * and not linked with any Lua: the symbols come from rpm's.
 *
 * rpm asks for all Provides of a (sub)package before its Requires, so the
 * modules seen by provides() form the package whose exports requires() may
 * leave out; a new package key starts a new package.
 */
#include <lauxlib.h>
#include <lua.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kabideps.h"

LUALIB_API int luaopen_kabideps(lua_State *L);

/* What is read from rpm's macros, once per package: the macros do not
 * change while rpm generates the dependencies of a package's files. */
static const char *const option_names[] = {
#define KABI_OPTION(name, type, values, macro_default, help) #name,
#include "options.def"
#undef KABI_OPTION
};
static const char *const option_macros[] = {
#define KABI_OPTION(name, type, values, macro_default, help) "%{?_kabideps_" #name "}",
#include "options.def"
#undef KABI_OPTION
};

static struct {
	struct kabi_ctx *ctx;
	struct kabi_pkg *pkg;
	char *key; /* identifies the package being built */
	char *buildroot;
	char *symvers;
	char *symsets;
	bool strict;
	int option_problems; /* bad option values of this package, said once */
	int problems; /* errors and warnings of the current call */
} state;

static void log_to_rpm(void *data, int level, const char *msg)
{
	(void)data;
	state.problems++;
	rpmlog(level <= KABI_LOG_ERR ? RPMLOG_ERR : RPMLOG_WARNING, "kabi-deps: %s\n", msg);
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void drop_state(void)
{
	kabi_pkg_free(state.pkg);
	kabi_ctx_free(state.ctx);
	free(state.buildroot);
	free(state.symvers);
	free(state.symsets);
	free(state.key);
	memset(&state, 0, sizeof(state));
}

/* A macro's value, NULL when empty (or out of memory: checked by the caller) */
static char *expand_nonempty(const char *macro)
{
	char *v = rpmExpand(macro, NULL);

	if (v && !*v) {
		free(v);
		v = NULL;
	}
	return v;
}

/* The buildroot's module files that rpm gives this generator (they match
 * %__kabideps_path) are read on worker threads for the calls to come, one
 * path a call; for a tree already read ahead: nothing. */
static void read_ahead(void)
{
	char *pattern = expand_nonempty("%{?__kabideps_path}");

	/* only speed is lost when it cannot */
	if (pattern && kabi_ctx_read_ahead_tree(state.ctx, pattern) < 0)
		rpmlog(RPMLOG_WARNING, "kabi-deps: reading modules ahead: %s\n", kabi_ctx_error(state.ctx));
	free(pattern);
}

/* A context per buildroot and reference setting, a package per key; the
 * settings of a new package from rpm's macros. */
static int select_package(lua_State *L, char *key)
{
	char *buildroot, *symvers, *symsets, *strict;
	bool strict_on;

	if (state.pkg && strcmp(state.key, key) == 0) {
		free(key);
		return 0;
	}
	buildroot = expand_nonempty("%{?buildroot}");
	symvers = expand_nonempty("%{?_kabideps_symvers}");
	symsets = expand_nonempty("%{?_kabideps_symsets}");
	strict = expand_nonempty("%{?_kabideps_strict}");
	strict_on = strict && strcmp(strict, "0") != 0;
	free(strict);
	if (!state.ctx || !same(state.buildroot, buildroot) || !same(state.symvers, symvers) ||
	    !same(state.symsets, symsets)) {
		drop_state();
		state.ctx = kabi_ctx_new();
		state.buildroot = buildroot;
		state.symvers = symvers;
		state.symsets = symsets;
		if (!state.ctx)
			goto oom;
		kabi_ctx_set_log_fn(state.ctx, log_to_rpm, NULL);
		if (kabi_ctx_set_buildroot(state.ctx, buildroot) < 0 ||
		    kabi_ctx_set_symvers(state.ctx, symvers) < 0 ||
		    kabi_ctx_set_symsets(state.ctx, symsets) < 0)
			goto oom;
	} else {
		free(buildroot);
		free(symvers);
		free(symsets);
	}
	kabi_pkg_free(state.pkg);
	free(state.key);
	state.key = key;
	state.pkg = kabi_pkg_new(state.ctx);
	state.strict = strict_on;
	if (!state.pkg)
		goto oom;
	/* setting a value again keeps what the context read with it */
	state.option_problems = 0;
	for (size_t i = 0; i < sizeof(option_names) / sizeof(option_names[0]); i++) {
		char *value = rpmExpand(option_macros[i], NULL); /* (rpm aborts when out of memory) */
		int r = kabi_ctx_set_option(state.ctx, option_names[i], value);

		free(value);
		if (r < 0) {
			state.option_problems++;
			rpmlog(RPMLOG_ERR, "kabi-deps: %%_kabideps_%s: %s\n", option_names[i],
			       kabi_ctx_error(state.ctx));
		}
	}
	read_ahead();
	return 0;
oom:
	if (key != state.key)
		free(key);
	drop_state();
	return luaL_error(L, "kabi-deps: out of memory");
}

/* The dependencies one a line, without a last newline, and the line that
 * stops the build when %_kabideps_strict is on and there were problems. */
static void push_deps(lua_State *L, struct kabi_strv *deps)
{
	luaL_Buffer b;
	size_t n = deps->n;

	kabi_strv_sort_uniq(deps);
	luaL_buffinit(L, &b);
	for (size_t i = 0; i < deps->n; i++) {
		if (i)
			luaL_addchar(&b, '\n');
		luaL_addstring(&b, deps->v[i]);
	}
	kabi_strv_free(deps);
	if (state.strict && state.problems > 0) {
		/* rpm fails the build on a dependency it cannot parse: this one says why */
		if (n)
			luaL_addchar(&b, '\n');
		luaL_addstring(&b, "!kabi-deps-strict-mode:see-the-kabi-deps-messages-above");
	}
	luaL_pushresult(&b);
}

/* deps = generate(kind): for the file rpm calls the generator with (%1),
 * in the package that %{buildroot} and %{name} name. */
static int l_generate(lua_State *L)
{
	const char *kind = luaL_checkstring(L, 1);
	/* one expansion, not two: each costs more than the rest of a call
	 * (neither a buildroot nor a package name holds a newline) */
	char *key = rpmExpand("%{?buildroot}\n%{?name}\n%1", NULL);
	char *path = key ? strchr(key, '\n') : NULL;
	struct kabi_strv deps = { 0 };

	if (path)
		path = strchr(path + 1, '\n');
	if (!path) {
		free(key);
		return luaL_error(L, "kabi-deps: out of memory");
	}
	/* (a Lua error does not return: nothing may be left to free) */
	lua_pushstring(L, path + 1);
	*path = '\0'; /* the key: buildroot and name */
	select_package(L, key);
	state.problems = state.option_problems;
	/* requires and the rest reuse what provides read (rpm calls it first) */
	if (kabi_generate(state.ctx, state.pkg, kind, lua_tostring(L, -1), &deps) < 0) {
		state.problems++;
		rpmlog(RPMLOG_ERR, "kabi-deps: %s: %s\n", lua_tostring(L, -1), kabi_ctx_error(state.ctx));
	}
	push_deps(L, &deps);
	return 1;
}

LUALIB_API int luaopen_kabideps(lua_State *L)
{
	static const luaL_Reg functions[] = {
		{ "generate", l_generate },
		{ NULL, NULL },
	};

	luaL_newlib(L, functions);
	return 1;
}
