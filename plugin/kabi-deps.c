/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kabi-deps: the command line over libkabideps, for rpm's singlefile and
 * multifile generator protocols and for people.
 *
 *   kabi-deps provides [--multifile] [FILE...]
 *   kabi-deps requires [--multifile] [--symvers FILE] [FILE...]
 *   kabi-deps dump [--json] FILE...
 *   kabi-deps symsets --release KREL [--style suse|rhel5] [--groups FILE]
 *                     [--reference OLD.tar.gz] -o OUT.tar.gz SYMVERS
 *   kabi-deps check [--json] [--details] KMOD... --kernel REF...
 *   kabi-deps weak-modules [--dry-run] [--verbose] [--root DIR] --add-modules ...
 *
 * Without FILE arguments, paths come on stdin one per line (as rpm gives
 * them).  Paths are data: nothing here runs a shell.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kabideps.h"
#include "kabi-deps.h"
#include "json.h"

#define EXIT_BAD_FILE 1
#define EXIT_USAGE 2

struct options {
	bool multifile;
	bool json;
	bool strict;
	const char *symvers;
	const char *symsets;
	const char *buildroot;
	char *settings[16]; /* --option NAME=VALUE */
	size_t n_settings;
};

struct file_list {
	char **paths;
	size_t n;
	bool owned;
};

static void usage(FILE *out)
{
	fputs("usage: kabi-deps provides|requires|supplements|recommends [--multifile]\n"
	      "                 [--symvers FILE] [--symsets FILE] [--buildroot DIR]\n"
	      "                 [--option NAME=VALUE]... [--strict] [--output FILE] [FILE...]\n"
	      "       kabi-deps dump [--json] [--output FILE] FILE...\n"
	      "       kabi-deps check [--json] [--details] KMOD... --kernel REF...  (check --help)\n"
	      "       kabi-deps symsets --release KREL [--style suse|rhel5] [--groups FILE]\n"
	      "                         [--reference OLD.tar.gz] -o OUT.tar.gz SYMVERS\n"
	      "                                                     (symsets --help)\n"
	      "       kabi-deps weak-modules OPTION... [PATH|RELEASE...]  (weak-modules --help)\n"
	      "\n"
	      "Kernel ABI dependencies of kernel modules for rpm (man kabi-deps, kabideps).\n"
	      "  provides     ksym(SYM) = 0xCRC for each export, kmod() and modalias();\n"
	      "               for a kernel's symvers file or symsets tarball, what the\n"
	      "               kernel provides\n"
	      "  requires     kernel(SYM) = 0xCRC, kernel(SET) = HASH or ksym(SYM) = 0xCRC for\n"
	      "               each import, and the triggers package\n"
	      "  supplements  SUSE's modalias(kernel-FLAVOR:ALIAS) (modalias=supplements)\n"
	      "  recommends   firmware(PATH) (firmware=recommends)\n"
	      "  dump         what a module holds: exports, imports, modinfo\n"
	      "  check        which kernels a kmod fits\n"
	      "  symsets      a kernel's symsets tarball from its Module.symvers\n"
	      "  weak-modules link kmods into the weak-updates of every compatible kernel\n"
	      "FILE is a kernel module (.ko, .ko.xz, .ko.zst, .ko.gz, signed or not); for\n"
	      "provides also a symsets-*.tar.gz or a kernel's symvers file.\n"
	      "Without FILE, paths are read from standard input, one per line; all files of\n"
	      "one run form one package (what one module provides, another does not require).\n"
	      "  --multifile      rpm's multifile protocol: ';PATH' before each file's lines\n"
	      "  --symvers FILE   kernel reference (Module.symvers, symvers.gz/.xz/.zst) for\n"
	      "                   requires, instead of the search by the module's release\n"
	      "  --symsets FILE   kernel symsets (symsets-R.tar.gz) for requires\n"
	      "  --buildroot DIR  search kernel references here first (default $RPM_BUILD_ROOT)\n"
	      "  --option NAME=VALUE  dependency classes and naming (empty: the default):\n",
	      out);
#define KABI_OPTION(name, type, values, macro_default, help) \
	fputs("    " #name "=" values "\n                   " help "\n", out);
#include "options.def"
#undef KABI_OPTION
	fputs("  --json           dump as JSON (valid UTF-8; a byte that is not UTF-8 as \\u00XX)\n"
	      "  --strict         warnings (CRC mismatches, no reference) are errors too; for\n"
	      "                   rpm, end the output with a line that stops the build\n"
	      "  --output FILE    write to FILE instead of standard output\n"
	      "  -h, --help       this text\n"
	      "Environment: RPM_BUILD_ROOT (see --buildroot), KABI_DEPS_THREADS (threads that\n"
	      "decompress modules; default one per processor, at most 8).\n"
	      "Exit status: 0 every file was read, 1 some file could not be read (or, with\n"
	      "--strict, a warning), 2 usage error.\n",
	      out);
}

static int read_stdin_paths(struct file_list *files)
{
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;

	files->owned = true;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (files->n == alloc) {
			char **p = realloc(files->paths, (alloc = alloc ? alloc * 2 : 64) * sizeof(*p));

			if (!p)
				goto oom;
			files->paths = p;
		}
		if (!(files->paths[files->n] = strdup(line)))
			goto oom;
		files->n++;
	}
	free(line);
	return 0;
oom:
	free(line);
	fputs("kabi-deps: out of memory\n", stderr);
	return -ENOMEM;
}

static void free_files(struct file_list *files)
{
	if (files->owned) {
		for (size_t i = 0; i < files->n; i++)
			free(files->paths[i]);
		free(files->paths);
	}
}

static int push_setting(struct options *opt, char *setting)
{
	if (opt->n_settings == sizeof(opt->settings) / sizeof(*opt->settings)) {
		fputs("kabi-deps: too many --option\n", stderr);
		return -E2BIG;
	}
	opt->settings[opt->n_settings++] = setting;
	return 0;
}

static unsigned warnings, errors;

static void log_warning(void *data, int level, const char *msg)
{
	(void)data;
	warnings++;
	errors += level <= KABI_LOG_ERR;
	fprintf(stderr, "kabi-deps: %s%s\n", level <= KABI_LOG_ERR ? "error: " : "warning: ", msg);
}

static void report(struct kabi_ctx *ctx, const char *path)
{
	fprintf(stderr, "kabi-deps: %s: %s\n", path, kabi_ctx_error(ctx));
}

static void print_deps(struct kabi_strv *deps, const char *path, bool multifile)
{
	kabi_strv_sort_uniq(deps);
	if (multifile && deps->n)
		printf(";%s\n", path);
	for (size_t i = 0; i < deps->n; i++) {
		fputs_unlocked(deps->v[i], stdout);
		putc_unlocked('\n', stdout);
	}
	kabi_strv_free(deps);
}

/* Where indexes of kernels' Module.symvers go, so that the next process
 * need not parse the same file again (rpm < 4.16 runs one per module):
 * the user's cache directory (XDG), or none. */
static int set_symvers_cache(struct kabi_ctx *ctx)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char dir[PATH_MAX];
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/kabi-deps", xdg);
	else if (home && home[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/.cache/kabi-deps", home);
	else
		return 0;
	return n > 0 && (size_t)n < sizeof(dir) ? kabi_ctx_set_symvers_cache(ctx, dir) : 0;
}

/* provides, requires, supplements, recommends: one dependency kind. */
static int cmd_generate(struct kabi_ctx *ctx, const char *kind, const struct options *opt,
			struct file_list *files)
{
	bool requires = strcmp(kind, "requires") == 0, provides = strcmp(kind, "provides") == 0;
	struct kabi_pkg *pkg = kabi_pkg_new(ctx);
	struct kabi_strv deps = { 0 };
	bool *bad = calloc(files->n + 1, sizeof(*bad));
	int status = 0;

	/* modules read ahead, in parallel, for the pass that reads them */
	if (!pkg || !bad ||
	    ((requires || provides) &&
	     kabi_ctx_read_ahead(ctx, (const char *const *)files->paths, files->n) < 0)) {
		fputs("kabi-deps: out of memory\n", stderr);
		kabi_pkg_free(pkg);
		free(bad);
		return EXIT_BAD_FILE;
	}
	if ((opt->symvers && kabi_ctx_set_symvers(ctx, opt->symvers) < 0) ||
	    (opt->symsets && kabi_ctx_set_symsets(ctx, opt->symsets) < 0) || set_symvers_cache(ctx) < 0) {
		fputs("kabi-deps: out of memory\n", stderr);
		status = EXIT_BAD_FILE;
	}
	/* Requires: all modules of the batch first, their exports satisfy their imports. */
	for (size_t i = 0; requires && i < files->n; i++) {
		struct kabi_module *mod = NULL;

		if (!kabi_path_is_module(files->paths[i]))
			continue; /* a kernel's reference file: only provides (kabi_generate) */
		if (kabi_module_open(ctx, files->paths[i], &mod) < 0 || kabi_pkg_add(pkg, mod) < 0) {
			report(ctx, files->paths[i]);
			bad[i] = true;
		}
		status = bad[i] ? EXIT_BAD_FILE : status;
		kabi_module_free(mod);
	}
	/* An explicit reference that cannot be read is an error, not a fallback. */
	if ((opt->symvers && !kabi_ctx_reference(ctx, NULL)) ||
	    (opt->symsets && !kabi_ctx_symsets(ctx, NULL)))
		status = EXIT_BAD_FILE;
	for (size_t i = 0; i < files->n; i++) {
		if (bad[i])
			continue;
		/* only requires needs the package: provides need not keep modules */
		if (kabi_generate(ctx, requires ? pkg : NULL, kind, files->paths[i], &deps) < 0) {
			report(ctx, files->paths[i]);
			status = EXIT_BAD_FILE;
		}
		if (opt->multifile)
			print_deps(&deps, files->paths[i], true);
	}
	print_deps(&deps, NULL, false);
	kabi_pkg_free(pkg);
	free(bad);
	return status;
}

static void json_crc(const struct kabi_sym *sym)
{
	if (sym->flags & KABI_SYM_CRC)
		printf("\"0x%08x\"", sym->crc);
	else
		fputs("null", stdout);
}

static void dump_json(const struct kabi_module *mod, bool first)
{
	size_t n;
	const struct kabi_sym *syms;
	const struct kabi_modinfo *info;

	printf("%s{\"path\": ", first ? "" : ",\n");
	json_string(stdout, kabi_module_path(mod));
	printf(", \"class\": %d, \"endian\": \"%s\", \"machine\": %u, \"release\": ",
	       kabi_module_elf_class(mod) == 2 ? 64 : 32, kabi_module_elf_data(mod) == 2 ? "big" : "little",
	       kabi_module_elf_machine(mod));
	json_string(stdout, kabi_module_release(mod));
	fputs(",\n \"exports\": [", stdout);
	syms = kabi_module_exports(mod, &n);
	for (size_t i = 0; i < n; i++) {
		printf("%s{\"name\": ", i ? ", " : "");
		json_string(stdout, syms[i].name);
		fputs(", \"crc\": ", stdout);
		json_crc(&syms[i]);
		printf(", \"gpl\": %s, \"namespace\": ", syms[i].flags & KABI_SYM_GPL ? "true" : "false");
		json_string(stdout, syms[i].ns);
		putchar('}');
	}
	fputs("],\n \"imports\": [", stdout);
	syms = kabi_module_imports(mod, &n);
	for (size_t i = 0; i < n; i++) {
		printf("%s{\"name\": ", i ? ", " : "");
		json_string(stdout, syms[i].name);
		fputs(", \"crc\": ", stdout);
		json_crc(&syms[i]);
		putchar('}');
	}
	fputs("],\n \"modinfo\": [", stdout);
	info = kabi_module_modinfo(mod, &n);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", [" : "[", stdout);
		json_string(stdout, info[i].key);
		fputs(", ", stdout);
		json_string(stdout, info[i].value);
		putchar(']');
	}
	fputs("]}", stdout);
}

static void dump_text(const struct kabi_module *mod)
{
	size_t n;
	const struct kabi_sym *syms;
	const struct kabi_modinfo *info;
	const char *release = kabi_module_release(mod);

	printf("file: %s\n", kabi_module_path(mod));
	printf("elf: %d-bit %s-endian, machine %u\n", kabi_module_elf_class(mod) == 2 ? 64 : 32,
	       kabi_module_elf_data(mod) == 2 ? "big" : "little", kabi_module_elf_machine(mod));
	printf("release: %s\n", release ? release : "(none)");
	syms = kabi_module_exports(mod, &n);
	for (size_t i = 0; i < n; i++) {
		printf("export: %s", syms[i].name);
		if (syms[i].flags & KABI_SYM_CRC)
			printf(" 0x%08x", syms[i].crc);
		else
			fputs(" (no crc)", stdout);
		if (syms[i].flags & KABI_SYM_GPL)
			fputs(" gpl", stdout);
		if (syms[i].ns)
			printf(" namespace=%s", syms[i].ns);
		putchar('\n');
	}
	syms = kabi_module_imports(mod, &n);
	for (size_t i = 0; i < n; i++)
		printf("import: %s 0x%08x\n", syms[i].name, syms[i].crc);
	info = kabi_module_modinfo(mod, &n);
	for (size_t i = 0; i < n; i++)
		printf("modinfo: %s=%s\n", info[i].key, info[i].value);
}

static int cmd_dump(struct kabi_ctx *ctx, const struct options *opt, struct file_list *files)
{
	int status = 0;
	bool first = true;

	if (opt->json)
		putchar('[');
	for (size_t i = 0; i < files->n; i++) {
		struct kabi_module *mod;

		if (kabi_module_open(ctx, files->paths[i], &mod) < 0) {
			report(ctx, files->paths[i]);
			status = EXIT_BAD_FILE;
			continue;
		}
		if (opt->json)
			dump_json(mod, first);
		else
			dump_text(mod);
		first = false;
		kabi_module_free(mod);
	}
	if (opt->json)
		puts("]");
	return status;
}

/* check and symsets: kabi-deps-tools, which links librpm and libarchive
 * (this program, run by rpm once per module and kind, loads neither).  It
 * lies beside this program in a build tree, else where it was installed,
 * found from here first (a moved or unpacked installation). */
static int run_tools(char **argv)
{
	static const char *const places[] = { "kabi-deps-tools", KABI_DEPS_TOOLS_FROM_BINDIR };
	char self[PATH_MAX], path[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (!*KABI_DEPS_TOOLS) {
		fprintf(stderr,
			"kabi-deps: %s needs librpm, and this kabi-deps was built without rpm "
			"(meson -Drpm=disabled, or no rpm found)\n",
			argv[1]);
		return EXIT_USAGE;
	}
	/* without /proc (an rpm transaction in a fresh root), the path it was
	 * run by, when that names a directory (the triggers run /usr/bin/kabi-deps) */
	if (len <= 0 && strchr(argv[0], '/') && strlen(argv[0]) < sizeof(self))
		len = (ssize_t)strlen(strcpy(self, argv[0]));
	slash = len > 0 ? memrchr(self, '/', (size_t)len) : NULL;

	for (size_t i = 0; slash && i < sizeof(places) / sizeof(places[0]); i++) {
		int n = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - self), self, places[i]);

		if (*places[i] && n > 0 && (size_t)n < sizeof(path) && access(path, X_OK) == 0)
			execv(path, argv);
	}
	execv(KABI_DEPS_TOOLS, argv);
	fprintf(stderr, "kabi-deps: cannot run %s: %s\n", KABI_DEPS_TOOLS, strerror(errno));
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "multifile", no_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "symvers", required_argument, NULL, 's' },
		{ "symsets", required_argument, NULL, 'Y' },
		{ "buildroot", required_argument, NULL, 'b' },
		{ "strict", no_argument, NULL, 'S' },
		{ "output", required_argument, NULL, 'o' },
		{ "option", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options opt = { .buildroot = getenv("RPM_BUILD_ROOT") };
	struct file_list files = { 0 };
	struct kabi_ctx *ctx;
	const char *cmd;
	int c, status;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	cmd = argv[1];
#ifdef M_TRIM_THRESHOLD
	/* A batch frees and allocates module buffers of every size in turn:
	 * keep freed memory instead of handing it back to the kernel and
	 * faulting it in again for the next module (glibc). */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
#endif
	if (strcmp(cmd, "symsets") == 0 || strcmp(cmd, "check") == 0 || strcmp(cmd, "weak-modules") == 0)
		return run_tools(argv);
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			opt.multifile = true;
			break;
		case 'j':
			opt.json = true;
			break;
		case 's':
			opt.symvers = optarg;
			break;
		case 'Y':
			opt.symsets = optarg;
			break;
		case 'b':
			opt.buildroot = optarg;
			break;
		case 'S':
			opt.strict = true;
			break;
		case 'O':
			if (push_setting(&opt, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'o':
			if (!freopen(optarg, "w", stdout)) {
				fprintf(stderr, "kabi-deps: %s: %s\n", optarg, strerror(errno));
				return EXIT_BAD_FILE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (strcmp(cmd, "provides") && strcmp(cmd, "requires") && strcmp(cmd, "supplements") &&
	    strcmp(cmd, "recommends") && strcmp(cmd, "dump")) {
		fprintf(stderr, "kabi-deps: unknown command '%s'\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (((opt.symvers || opt.symsets) && strcmp(cmd, "requires")) || (opt.json && strcmp(cmd, "dump")) ||
	    (opt.multifile && !strcmp(cmd, "dump"))) {
		fprintf(stderr, "kabi-deps: option not valid for '%s'\n", cmd);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		files.paths = argv + optind;
		files.n = (size_t)(argc - optind);
	} else if (read_stdin_paths(&files) < 0) {
		return EXIT_BAD_FILE;
	}

	ctx = kabi_ctx_new();
	if (!ctx || (opt.buildroot && kabi_ctx_set_buildroot(ctx, opt.buildroot) < 0)) {
		fputs("kabi-deps: out of memory\n", stderr);
		return EXIT_BAD_FILE;
	}
	kabi_ctx_set_log_fn(ctx, log_warning, NULL);
	for (size_t i = 0; i < opt.n_settings; i++) {
		char *eq = strchr(opt.settings[i], '=');

		if (eq)
			*eq = '\0';
		if (!eq || kabi_ctx_set_option(ctx, opt.settings[i], eq + 1) < 0) {
			fprintf(stderr, "kabi-deps: --option %s: %s\n", opt.settings[i],
				eq ? kabi_ctx_error(ctx) : "expected NAME=VALUE");
			status = EXIT_USAGE;
			goto out;
		}
	}
	if (!strcmp(cmd, "dump"))
		status = cmd_dump(ctx, &opt, &files);
	else
		status = cmd_generate(ctx, cmd, &opt, &files);
out:
	kabi_ctx_free(ctx);
	free_files(&files);
	/* (what the library could only log: e.g. a reference that could not
	 * be read again) */
	if (errors && !status)
		status = EXIT_BAD_FILE;
	if (opt.strict && status != EXIT_USAGE && (status || warnings)) {
		/* rpm ignores a generator's exit status but fails the build on a
		 * dependency it cannot parse: this one says why. */
		if (strcmp(cmd, "dump"))
			puts("!kabi-deps-strict-mode:see-the-kabi-deps-messages-above");
		status = EXIT_BAD_FILE;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "kabi-deps: cannot write output: %s\n", strerror(errno));
		status = EXIT_BAD_FILE;
	}
	return status;
}
