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
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kabideps.h"

LUALIB_API int luaopen_kabideps(lua_State *L);

static struct {
	struct kabi_ctx *ctx;
	struct kabi_pkg *pkg;
	char *key; /* identifies the package being built */
	char *buildroot;
	char *symvers;
	char *symsets;
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

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

/* A context per buildroot and reference setting; a package per key. */
static int select_package(lua_State *L, const char *key, const char *buildroot, const char *symvers,
			  const char *symsets)
{
	buildroot = nonempty(buildroot);
	symvers = nonempty(symvers);
	symsets = nonempty(symsets);
	if (!state.ctx || !same(state.buildroot, buildroot) || !same(state.symvers, symvers) ||
	    !same(state.symsets, symsets)) {
		kabi_pkg_free(state.pkg);
		kabi_ctx_free(state.ctx);
		free(state.buildroot);
		free(state.symvers);
		free(state.symsets);
		free(state.key);
		memset(&state, 0, sizeof(state));
		state.ctx = kabi_ctx_new();
		state.buildroot = dup_or_null(buildroot);
		state.symvers = dup_or_null(symvers);
		state.symsets = dup_or_null(symsets);
		if (!state.ctx || (buildroot && !state.buildroot) || (symvers && !state.symvers) ||
		    (symsets && !state.symsets))
			return luaL_error(L, "kabi-deps: out of memory");
		kabi_ctx_set_log_fn(state.ctx, log_to_rpm, NULL);
		if (kabi_ctx_set_buildroot(state.ctx, state.buildroot) < 0 ||
		    kabi_ctx_set_symvers(state.ctx, state.symvers) < 0 ||
		    kabi_ctx_set_symsets(state.ctx, state.symsets) < 0)
			return luaL_error(L, "kabi-deps: out of memory");
	}
	if (!state.pkg || !same(state.key, key)) {
		kabi_pkg_free(state.pkg);
		free(state.key);
		state.key = strdup(key);
		state.pkg = kabi_pkg_new(state.ctx);
		if (!state.key || !state.pkg)
			return luaL_error(L, "kabi-deps: out of memory");
	}
	return 0;
}

static void push_deps(lua_State *L, struct kabi_strv *deps)
{
	luaL_Buffer b;

	kabi_strv_sort_uniq(deps);
	luaL_buffinit(L, &b);
	for (size_t i = 0; i < deps->n; i++) {
		luaL_addstring(&b, deps->v[i]);
		luaL_addchar(&b, '\n');
	}
	luaL_pushresult(&b);
	kabi_strv_free(deps);
}

static void report(const char *path)
{
	state.problems++;
	rpmlog(RPMLOG_ERR, "kabi-deps: %s: %s\n", path, kabi_ctx_error(state.ctx));
}

/* Options from a Lua table { kmod = "fedora", ... }; an empty value resets. */
static void set_options(lua_State *L, int index)
{
	if (lua_isnoneornil(L, index))
		return;
	luaL_checktype(L, index, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, index)) {
		const char *name = lua_tostring(L, -2), *value = lua_tostring(L, -1);

		if (name && value && kabi_ctx_set_option(state.ctx, name, value) < 0) {
			state.problems++;
			rpmlog(RPMLOG_ERR, "kabi-deps: %%_kabideps_%s: %s\n", name,
			       kabi_ctx_error(state.ctx));
		}
		lua_pop(L, 1);
	}
}

/* deps, problems = generate(kind, path, package_key, buildroot, symvers, symsets, options) */
static int l_generate(lua_State *L)
{
	const char *kind = luaL_checkstring(L, 1);
	const char *path = luaL_checkstring(L, 2);
	const char *key = luaL_checkstring(L, 3);
	const char *buildroot = luaL_optstring(L, 4, NULL);
	const char *symvers = luaL_optstring(L, 5, NULL);
	const char *symsets = luaL_optstring(L, 6, NULL);
	struct kabi_strv deps = { 0 };

	select_package(L, key, buildroot, symvers, symsets);
	state.problems = 0;
	set_options(L, 7);
	/* requires and the rest reuse what provides read (rpm calls it first) */
	if (kabi_generate(state.ctx, state.pkg, kind, path, &deps) < 0)
		report(path);
	push_deps(L, &deps);
	lua_pushinteger(L, state.problems);
	return 2;
}

/* read_ahead(pattern): the buildroot's module files that match pattern (rpm's
 * %__kabideps_path) are read on worker threads, for the next generate()
 * calls (the Lua generator is given one path a call).  After a
 * generate(), whose context it uses; again for the same tree: nothing. */
static int l_read_ahead(lua_State *L)
{
	const char *pattern = luaL_checkstring(L, 1);

	/* only speed is lost when it cannot */
	if (state.ctx && kabi_ctx_read_ahead_tree(state.ctx, pattern) < 0)
		rpmlog(RPMLOG_WARNING, "kabi-deps: reading modules ahead: %s\n", kabi_ctx_error(state.ctx));
	return 0;
}

LUALIB_API int luaopen_kabideps(lua_State *L)
{
	static const luaL_Reg functions[] = {
		{ "generate", l_generate },
		{ "read_ahead", l_read_ahead },
		{ NULL, NULL },
	};

	luaL_newlib(L, functions);
	return 1;
}
