// SPDX-License-Identifier: MIT
// tl_lldb.cpp - `tl` commands for LLDB: a thin plugin that runs the tlinspect engine.
//
//   (lldb) plugin load /usr/lib/tlinspect/libtlinspect-lldb.so
//   (lldb) tl goroutines           (lldb) tl chan 0xc000080060      (lldb) tl heap
//
// Like the gdb face, every `tl CMD ARGS` runs the engine as a child process on LLDB's current
// target: `tlinspect --no-stop --pid PID CMD ARGS` for a live process (LLDB holds it stopped;
// the engine reads /proc/PID/mem without stopping it again), `tlinspect --core CORE --exe EXE
// CMD ARGS` for a core file. The subcommands are the engine's own command table
// (`tlinspect --print-commands`), read when the plugin is loaded; help is `tlinspect help CMD`.
// Arguments that are not numbers or options are evaluated as LLDB expressions (`tl chunk $rax`,
// `tl chunk ptr`); if LLDB cannot evaluate one it is passed on unchanged.
//
// The engine is $TLINSPECT if set, else the path compiled in (TLI_ENGINE). Built without
// linking liblldb (the SB API symbols resolve in the LLDB that loads us), so one build works
// across LLDB versions; see docs/tlinspect-gdb.7.
#include <lldb/API/LLDB.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TLI_ENGINE
#define TLI_ENGINE "tlinspect"
#endif

namespace lldb {
bool PluginInitialize(lldb::SBDebugger debugger);
}

namespace {

std::string engine_path()
{
	const char *e = getenv("TLINSPECT");
	return e && *e ? e : TLI_ENGINE;
}

// Run argv, collecting stdout and stderr (bounded). Returns the wait status, -1 if it could not run.
int run(const std::vector<std::string> &args, std::string &out)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		std::vector<char *> av;
		for (const auto &a : args)
			av.push_back(const_cast<char *>(a.c_str()));
		av.push_back(nullptr);
		signal(SIGPIPE, SIG_DFL);
		/* one engine run per command: keep layout answers between runs (tlinspect(1)) */
		setenv("TLINSPECT_LAYOUT_CACHE", "1", 0);
		execvp(av[0], av.data());
		fprintf(stderr, "tl: cannot run %s: %s\n", av[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	char buf[65536];
	const size_t cap = 64u << 20; // 64 MiB of output is plenty
	for (;;) {
		ssize_t n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out.size() < cap)
			out.append(buf, (size_t)n);
	}
	close(fds[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

bool is_elf_core(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	unsigned char h[18];
	bool ok = read(fd, h, sizeof(h)) == (ssize_t)sizeof(h) && !memcmp(h, "\177ELF", 4) && h[16] == 4 &&
		  h[17] == 0;
	close(fd);
	return ok;
}

// LLDB 14's SB API does not say which core file a process was loaded from. LLDB keeps the
// core mapped: find the ELF core files in our own mappings. Empty if none or ambiguous.
std::string core_path_of_this_process(std::string &why)
{
	FILE *f = fopen("/proc/self/maps", "re");
	std::vector<std::string> cores;
	if (!f) {
		why = "cannot read /proc/self/maps";
		return "";
	}
	char line[4352];
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');
		if (!p)
			continue;
		p[strcspn(p, "\n")] = 0;
		std::string path(p);
		bool seen = false;
		for (const auto &c : cores)
			seen |= c == path;
		if (!seen && is_elf_core(p))
			cores.push_back(path);
	}
	fclose(f);
	if (cores.size() == 1)
		return cores[0];
	why = cores.empty() ? "no core file is mapped in this LLDB" : "several core files are open in this LLDB";
	return "";
}

// Every thread's registers, in the form of gdb's `thread apply all info registers` that the
// engine reads with --thread-regs (it reads a process LLDB holds without stopping it, so the
// kernel will not give them to it). Written to a private temporary file; "" if none could be
// written (the engine then says the registers are unknown).
std::string write_thread_regs(lldb::SBProcess &process)
{
	char path[] = "/tmp/tlinspect-lldb-regs.XXXXXX";
	int fd = mkstemp(path); // mode 0600, O_EXCL
	if (fd < 0)
		return "";
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(path);
		return "";
	}
	static const char *const names[] = { "rip", "rsp", "rbp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi",
					      "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
					      "eflags", "rflags", "fs_base", "gs_base" };
	for (uint32_t i = 0; i < process.GetNumThreads(); i++) {
		lldb::SBThread th = process.GetThreadAtIndex(i);
		lldb::SBFrame fr = th.GetFrameAtIndex(0);
		if (!th.IsValid() || !fr.IsValid())
			continue;
		fprintf(f, "Thread %u (LWP %llu):\n", i + 1, (unsigned long long)th.GetThreadID());
		lldb::SBValueList sets = fr.GetRegisters();
		for (uint32_t s = 0; s < sets.GetSize(); s++) {
			lldb::SBValue set = sets.GetValueAtIndex(s);
			for (uint32_t r = 0; r < set.GetNumChildren(); r++) {
				lldb::SBValue reg = set.GetChildAtIndex(r);
				const char *n = reg.GetName();
				if (!n)
					continue;
				for (const char *want : names) {
					if (strcmp(n, want))
						continue;
					lldb::SBError e;
					uint64_t v = reg.GetValueAsUnsigned(e, 0);
					if (e.Success())
						fprintf(f, "%s 0x%llx\n", strcmp(n, "rflags") ? n : "eflags",
							(unsigned long long)v);
				}
			}
		}
	}
	if (fclose(f) != 0) {
		unlink(path);
		return "";
	}
	return path;
}

bool plain_arg(const char *a)
{
	if (!*a || a[0] == '-')
		return true;
	char *end;
	errno = 0;
	(void)strtoull(a, &end, 0);
	return !*end && !errno;
}

// Is argument `idx` of `argv` an expression LLDB should evaluate, by the command's synopsis from
// the engine's command table? "ADDR ..." / "ID ...": the first one. Keyword alternatives such as
// "g ID | chan ADDR | chunk ADDR | arena [ADDR]": never the keyword (a C global named `arena`
// must not replace it), the argument after a keyword whose alternative takes ADDR or ID.
// Options and their values are passed on as typed.
enum { ARG_PLAIN, ARG_ADDR, ARG_ID };
int expr_position(const std::string &syn, char **argv, size_t idx)
{
	if (!argv[idx] || argv[idx][0] == '-')
		return ARG_PLAIN;
	size_t pos = 0; // positional index among non-option words
	for (size_t i = 0; i < idx; i++)
		if (argv[i][0] != '-')
			pos++;
	if (syn.rfind("ADDR", 0) == 0)
		return pos == 0 ? ARG_ADDR : ARG_PLAIN;
	if (syn.rfind("ID", 0) == 0)
		return pos == 0 ? ARG_ID : ARG_PLAIN;
	if (syn.find(" | ") == std::string::npos || pos != 1)
		return ARG_PLAIN;
	const char *kw = nullptr;
	for (size_t i = 0; i < idx && !kw; i++)
		if (argv[i][0] != '-')
			kw = argv[i];
	if (!kw)
		return ARG_PLAIN;
	// the alternative "KW ARG" in "a X | b Y | ..."
	std::string want = std::string(kw) + " ";
	for (size_t p = 0; p < syn.size();) {
		size_t e = syn.find(" | ", p);
		std::string alt = syn.substr(p, e == std::string::npos ? std::string::npos : e - p);
		if (alt.rfind(want, 0) == 0)
			return alt.find("ADDR") != std::string::npos ? ARG_ADDR
			       : alt.find("ID") != std::string::npos ? ARG_ID : ARG_PLAIN;
		if (e == std::string::npos)
			break;
		p = e + 3;
	}
	return ARG_PLAIN;
}

class TlCmd : public lldb::SBCommandPluginInterface {
public:
	TlCmd(std::string name, std::string synopsis) : name_(std::move(name)), synopsis_(std::move(synopsis)) {}

	bool DoExecute(lldb::SBDebugger debugger, char **command, lldb::SBCommandReturnObject &result) override
	{
		lldb::SBTarget target = debugger.GetSelectedTarget();
		lldb::SBProcess process = target.IsValid() ? target.GetProcess() : lldb::SBProcess();
		if (!target.IsValid() || !process.IsValid()) {
			result.SetError("tl: no process: attach (lldb -p PID), run, or load a core (lldb --core CORE PROG)");
			result.SetStatus(lldb::eReturnStatusFailed);
			return false;
		}
		std::vector<std::string> args{ engine_path() };
		std::string regs_file;
		char exe[4096] = "";
		lldb::SBFileSpec fs = target.GetExecutable();
		if (fs.IsValid())
			fs.GetPath(exe, sizeof(exe));
		const char *plugin = process.GetPluginName();
		if (plugin && strstr(plugin, "core")) {
			std::string why, core = core_path_of_this_process(why);
			if (core.empty()) {
				result.SetError(("tl: cannot tell which core file is loaded: " + why).c_str());
				result.SetStatus(lldb::eReturnStatusFailed);
				return false;
			}
			args.insert(args.end(), { "--core", core });
			if (*exe)
				args.insert(args.end(), { "--exe", exe });
		} else {
			if (process.GetState() == lldb::eStateRunning) {
				result.SetError("tl: the process is running: interrupt it first (process interrupt)");
				result.SetStatus(lldb::eReturnStatusFailed);
				return false;
			}
			args.insert(args.end(), { "--no-stop", "--pid", std::to_string(process.GetProcessID()) });
			regs_file = write_thread_regs(process);
			if (!regs_file.empty())
				args.insert(args.end(), { "--thread-regs", regs_file });
		}
		args.push_back(name_);
		for (size_t i = 0; command && command[i]; i++) {
			std::string v = command[i];
			int kind = plain_arg(command[i]) ? ARG_PLAIN : expr_position(synopsis_, command, i);
			if (kind != ARG_PLAIN) {
				// as C: LLDB has no Go expression evaluator, and the stopped frame may be Go's
				lldb::SBExpressionOptions eo;
				eo.SetLanguage(lldb::eLanguageTypeC_plus_plus);
				lldb::SBValue val = target.EvaluateExpression(command[i], eo);
				lldb::SBError e;
				uint64_t u = 0;
				bool ok = val.IsValid() && val.GetError().Success();
				if (ok)
					u = val.GetValueAsUnsigned(e, 0);
				if (!ok || !e.Success()) {
					const char *why = val.IsValid() && val.GetError().GetCString() ? val.GetError().GetCString()
													    : e.GetCString();
					result.SetError(("tl " + name_ + ": cannot evaluate '" + v + "': " +
							 (why ? why : "no value")).c_str());
					result.SetStatus(lldb::eReturnStatusFailed);
					if (!regs_file.empty())
						unlink(regs_file.c_str());
					return false;
				}
				char b[32];
				if (kind == ARG_ID)
					snprintf(b, sizeof(b), "%lld", (long long)u);
				else
					snprintf(b, sizeof(b), "0x%llx", (unsigned long long)u);
				v = b;
			}
			args.push_back(v);
		}
		std::string out;
		int st = run(args, out);
		if (!regs_file.empty())
			unlink(regs_file.c_str());
		if (!out.empty())
			result.Printf("%s", out.c_str());
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			char msg[160];
			if (st == -1)
				snprintf(msg, sizeof(msg), "tl %s: cannot run %s", name_.c_str(), args[0].c_str());
			else if (WIFSIGNALED(st))
				snprintf(msg, sizeof(msg), "tl %s: engine killed by signal %d", name_.c_str(), WTERMSIG(st));
			else
				snprintf(msg, sizeof(msg), "tl %s: exit status %d", name_.c_str(), WEXITSTATUS(st));
			result.SetError(msg); /* a failure is an error, as the status says (scripts stop on it) */
			result.SetStatus(lldb::eReturnStatusFailed);
			return false;
		}
		result.SetStatus(lldb::eReturnStatusSuccessFinishResult);
		return true;
	}

private:
	std::string name_, synopsis_;
};

} // namespace

bool lldb::PluginInitialize(lldb::SBDebugger debugger)
{
	lldb::SBCommandInterpreter ci = debugger.GetCommandInterpreter();
	std::string list;
	int st = run({ engine_path(), "--print-commands" }, list);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "tlinspect-lldb: cannot run '%s --print-commands' (set $TLINSPECT)\n",
			engine_path().c_str());
		return false;
	}
	lldb::SBCommand tl = ci.AddMultiwordCommand(
		"tl", "tlinspect: goroutines, channels and glibc malloc of the current process or core, decoded "
		      "from outside. `tl help CMD` or `help tl CMD` for one command.");
	if (!tl.IsValid())
		return false;
	size_t pos = 0;
	int n = 0;
	while (pos < list.size() && n < 200) {
		size_t eol = list.find('\n', pos);
		std::string line = list.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
		pos = eol == std::string::npos ? list.size() : eol + 1;
		size_t t1 = line.find('\t');
		if (t1 == std::string::npos || t1 == 0)
			continue;
		std::string name = line.substr(0, t1), rest = line.substr(t1 + 1);
		size_t t2 = rest.find('\t');
		std::string synopsis = t2 == std::string::npos ? "" : rest.substr(0, t2);
		std::string summary = t2 == std::string::npos ? rest : rest.substr(t2 + 1);
		if (name == "shell")
			continue; // interactive: run `tlinspect --pid N shell` in a terminal instead
		std::string help;
		int hs = run({ engine_path(), "help", name }, help);
		if (hs == -1 || !WIFEXITED(hs) || WEXITSTATUS(hs) != 0)
			help = summary;
		std::string syntax = "tl " + name + (synopsis.empty() ? "" : " " + synopsis);
		lldb::SBCommand sub = tl.AddCommand(name.c_str(), new TlCmd(name, synopsis), summary.c_str(), syntax.c_str());
		if (sub.IsValid())
			sub.SetHelpLong(help.c_str());
		n++;
	}
	return n > 0;
}
