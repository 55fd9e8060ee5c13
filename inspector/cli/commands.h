/* SPDX-License-Identifier: MIT */
/**
 * @file commands.h
 * The one command table. It drives the CLI (`tlinspect CMD ...`), `--help`,
 * `help CMD`, `--print-commands` (used by the bash completion and by the
 * test that checks docs/tlinspect.1 against the table), and later the
 * readline shell and the gdb/lldb faces.
 *
 * A command is run in two steps: its handler builds a result tree (jansson),
 * then one of the two printers (render/) shows it as JSON or as text.
 */
#ifndef TLI_CLI_COMMANDS_H
#define TLI_CLI_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "core/error.h"

#ifndef TLI_TOOL_VERSION
#define TLI_TOOL_VERSION "0.1.0"
#endif
#define TLI_SCHEMA "tlinspect/1"

/** Kinds of option value. */
enum tli_opt_type {
	TLI_OPT_FLAG,    /**< no argument */
	TLI_OPT_INT,     /**< integer argument in [min, max] */
	TLI_OPT_STRING,  /**< string argument */
};

/** One option (global or per command): drives parsing, help, man page test and completion. */
struct tli_option {
	const char *name;       /**< long name without "--" */
	int short_name;         /**< one-letter alias, 0 if none */
	enum tli_opt_type type;
	const char *argname;    /**< "N", "FILE", ... for INT/STRING */
	const char *help;       /**< one line */
	long min, max;          /**< range of TLI_OPT_INT */
	bool hidden;            /**< not listed in --help (internal/tooling) */
};

/** Maximum number of options one command may declare. */
#define TLI_MAX_CMD_OPTIONS 16
/** How many times one STRING option may be given (e.g. goroutines --label). */
#define TLI_MAX_OPT_REPEAT 16

/** The parsed value of one option. */
struct tli_optval {
	bool set;
	long num;          /**< INT value (FLAG: 1 when set) */
	const char *str;   /**< STRING value (points into argv): the last one given */
	const char *strs[TLI_MAX_OPT_REPEAT]; /**< STRING: every value, in order (repeatable options) */
	size_t nstrs;
};

/** Whether a command needs an opened target. */
enum tli_needs_target {
	TLI_TARGET_NEVER = 0,    /**< e.g. help */
	TLI_TARGET_REQUIRED = 1, /**< e.g. goroutines */
	TLI_TARGET_OPTIONAL = 2, /**< e.g. version: uses one if given */
};

struct tli_session;
struct tli_cli_opts;
struct tli_command;

/** Everything a handler gets. */
struct tli_cmd_ctx {
	const struct tli_command *cmd;
	struct tli_session *session;            /**< NULL unless the command uses a target */
	const struct tli_optval *vals;          /**< parsed values, parallel to cmd->options */
	int argc;                               /**< positional arguments */
	char **argv;
	bool verbose;
	const struct tli_cli_opts *cli;         /**< the whole command line (NULL outside the CLI) */
	/** The result is only printed (no caller reads it): a listing may give its items one at
	 *  a time, in *stream (render/render.h), which the CLI destroys; stream_json: as JSON. */
	bool stream_ok, stream_json;
	struct tli_render_stream *stream;
};

/**
 * A command handler: fill `result` (an object that already holds "schema" and
 * "tool"). The caller adds result["target"] and result["warnings"] from the
 * session afterwards and renders.
 */
typedef struct tli_error *(*tli_command_fn)(struct tli_cmd_ctx *ctx, json_t *result);

struct tli_text_printer;

struct tli_command {
	const char *name;
	const char *args;        /**< synopsis of positional args and options, "" if none */
	const char *summary;     /**< one line */
	const char *help;        /**< paragraph(s) for `help CMD` */
	int needs_target;        /**< enum tli_needs_target */
	tli_command_fn fn;
	/** Its text view (render/render.h); NULL: the text output is the JSON document. */
	const struct tli_text_printer *text;
	const struct tli_option *options; /**< terminated by {NULL}; may be NULL */
	int min_args, max_args;  /**< positional argument count */
	/** Optional check of the positional arguments at parse time (usage errors). */
	struct tli_error *(*check)(int argc, char **argv);
	bool exe_only;           /**< reads only the executable: never stops a live target */
	bool hidden;
};

/** The table, terminated by an entry with name == NULL. */
extern const struct tli_command tli_commands[];
/** The global options, terminated by {NULL}. */
extern const struct tli_option tli_global_options[];
/** The command run when none is given ("goroutines"). */
extern const char *const tli_default_command;

/** Find a command by exact name (NULL if none). */
const struct tli_command *tli_command_find(const char *name);
/** Closest command name to a misspelling (edit distance), or NULL if nothing is close. */
const char *tli_command_suggest(const char *name);
/** Index of option `name` in cmd->options, -1 if none. */
int tli_command_option_index(const struct tli_command *cmd, const char *name);
/** Parsed value of the command option `name` (NULL if the command has no such option). */
const struct tli_optval *tli_cmd_opt(const struct tli_cmd_ctx *ctx, const char *name);

/** Levenshtein distance (bounded, for suggestions). */
int tli_edit_distance(const char *a, const char *b);

/** `--print-commands`: one line per visible command: "name\targs\tsummary". */
void tli_print_commands(FILE *f);
/** `--print-options [CMD]`: one option per line ("--name" and "-x"), global ones when cmd is NULL. */
void tli_print_options(FILE *f, const struct tli_command *cmd);
/** Build the JSON description of one command (for help). */
json_t *tli_command_describe(const struct tli_command *cmd);
/** Build the JSON description of an option list. */
json_t *tli_options_describe(const struct tli_option *opts);

/** Machine-friendly identifier of an error code ("usage", "no-target", ...). */
const char *tli_errcode_kind(enum tli_errcode code);

/* ---- command line (options.c) ---- */

/** Global and command options from argv. */
struct tli_cli_opts {
	int pid;                  /**< --pid (0 = none) */
	const char *core, *exe, *sysroot;
	bool json, no_stop, no_dwarf, quiet, help, version;
	int verbose;              /**< count of -v */
	int timeout_ms;           /**< --timeout (0 = default) */
	bool snapshot_fork;       /**< --snapshot=fork */
	bool print_commands;      /**< hidden --print-commands */
	bool print_options;       /**< hidden --print-options (of cmd if explicitly given) */
	bool gdb_hint;            /**< hidden --gdb-hint: target from gdb's output on stdin */
	const char *pages;        /**< --pages DIR: memory only from page files gdb dumps */
	bool pages_slot;          /**< hidden --pages-slot: claim gdb's page directory */
	const char *thread_regs;  /**< hidden --thread-regs FILE ("-": stdin): registers from a debugger */
	const struct tli_thread *regs; /**< (internal) the threads' registers a face supplied */
	size_t nregs;
	const char *pages_context; /**< (internal) gdb's output read from stdin in page mode */
	size_t pages_context_len;
	const struct tli_command *cmd;  /**< never NULL after a successful parse */
	bool cmd_explicit;        /**< the command was named on the command line */
	struct tli_optval vals[TLI_MAX_CMD_OPTIONS];
	int argc;                 /**< positional arguments of the command */
	char **argv;              /**< (malloc'ed array of pointers into the caller's argv) */
	bool exiting;             /**< (internal, main) the process exits after this run: the
				       result tree is not freed (100k goroutines: ~0.2 s) */
};

/**
 * Parse argv (argv[0] is the program name). Global options may appear before
 * or after the command. Validates ranges and combinations. Returns a
 * TLI_E_USAGE error naming the offending value; on success fills *ret
 * (release with tli_cli_opts_free).
 */
struct tli_error *tli_cli_parse(int argc, char **argv, struct tli_cli_opts *ret);
void tli_cli_opts_free(struct tli_cli_opts *o);

/** `tlinspect --help` text. */
void tli_cli_usage(FILE *f);

/**
 * Run one parsed command line to completion: open the target if needed, run
 * the command, render (JSON or text) to `out`, report errors on `err` (and as
 * a JSON error document on `out` with --json). Returns the exit status.
 */
int tli_cli_run(const struct tli_cli_opts *o, FILE *out, FILE *err);

/**
 * Called with the final result document of a successful command, before it is
 * rendered (the shell keeps the goroutine ids of the last listing).
 */
typedef void (*tli_cli_result_hook)(const char *command, json_t *doc, void *arg);

/** tli_cli_run with a result hook (may be NULL). */
int tli_cli_run_ex(const struct tli_cli_opts *o, FILE *out, FILE *err, tli_cli_result_hook hook, void *arg);

/** Write the JSON error document for `e` to f. */
void tli_cli_error_json(FILE *f, const struct tli_error *e);

#endif
