// SPDX-License-Identifier: MIT
/*
 * cxxleaks: leak objects of polymorphic C++ classes (and keep others
 * reachable), record the truth, print "ready", then block forever (raw pause
 * syscalls, so ptrace attach works).
 *
 *   cxxleaks OUTDIR     writes OUTDIR/expect.txt, one line per block:
 *     leak 0xADDR REQSIZE CLASS     leaked; ADDR is the pointer operator new
 *                                   (i.e. malloc) returned, CLASS the dynamic
 *                                   type demangled from typeid (or "-" for a
 *                                   plain malloc block with no vtable)
 *     live 0xADDR REQSIZE CLASS     kept reachable (through a global)
 *
 * Build: g++ -O2 -g -pthread -o cxxleaks cxxleaks.cc
 *
 * Classes: Circle (top level), geo::Polygon (in a namespace, derived from
 * Circle's base with multiple inheritance so its vptr is not the first base's
 * only), geo::Box<int, 3> (a template: the name needs a real demangler),
 * geo::Kept (only ever reachable). A second thread leaks in its own arena.
 * Pointers we must remember but must not keep reachable are stored XOR-ed.
 */
#include <cxxabi.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <typeinfo>
#include <unistd.h>

#define HIDE ((uintptr_t)0xa5a5a5a5a5a5a5a5ull)

struct Shape {
	virtual ~Shape() {}
	virtual double area() const = 0;
	long id = 0;
};

struct Circle : Shape {
	double r = 1.5;
	double area() const override { return 3.14159 * r * r; }
};

struct Named {
	virtual ~Named() {}
	virtual const char *name() const { return "named"; }
	char label[24] = "polygon";
};

namespace geo {
struct Polygon : Shape, Named {
	int sides = 6;
	double pts[12] = { 0 };
	double area() const override { return sides * 1.0; }
};

struct Kept : Shape {
	char payload[40] = { 0 };
	double area() const override { return 0; }
};
template <class T, int N> struct Box : Shape {
	T v[N] = {};
	double area() const override { return N; }
};
} // namespace geo

Shape *kept[64];       // reachable through this global
static int nkept;

struct rec { uintptr_t x; size_t req; const char *kind; char cls[128]; };
static rec recs[128];
static int nrecs;
static sem_t ready;

static void record(const char *kind, const Shape *p, size_t req)
{
	rec &r = recs[nrecs++];
	// the most-derived object's address: what operator new (malloc) returned
	const void *base = dynamic_cast<const void *>(p);
	r.x = (uintptr_t)base ^ HIDE;
	r.req = req;
	r.kind = kind;
	int st = 0;
	char *d = abi::__cxa_demangle(typeid(*p).name(), NULL, NULL, &st);
	snprintf(r.cls, sizeof(r.cls), "%s", d && !st ? d : typeid(*p).name());
	free(d);
}

static void record_plain(const char *kind, void *p, size_t req)
{
	rec &r = recs[nrecs++];
	r.x = (uintptr_t)p ^ HIDE;
	r.req = req;
	r.kind = kind;
	snprintf(r.cls, sizeof(r.cls), "-");
}

template <class T> static __attribute__((noinline)) void leak(int n)
{
	for (int i = 0; i < n; i++) {
		T *p = new T;
		p->id = 1000 + i;
		record("leak", p, sizeof(T));
	}
}

template <class T> static __attribute__((noinline)) void keep(int n)
{
	for (int i = 0; i < n; i++) {
		T *p = new T;
		kept[nkept++] = p;
		record("live", p, sizeof(T));
	}
}

static __attribute__((noinline)) void leak_plain(size_t n, int count)
{
	for (int i = 0; i < count; i++) {
		void *p = malloc(n);
		memset(p, 0x5a, n);
		record_plain("leak", p, n);
	}
}

static __attribute__((noinline)) void scrub_stack(void)
{
	volatile char buf[32768];
	memset((char *)buf, 0, sizeof(buf));
}

static __attribute__((noinline, noreturn)) void block_forever(void)
{
	/* clear the red zone below SP, then pause forever */
	asm volatile("xor %%eax, %%eax\n\t"
		     "mov $-128, %%rcx\n"
		     "2: mov %%rax, (%%rsp,%%rcx)\n\t"
		     "add $8, %%rcx\n\t"
		     "jnz 2b\n\t"
		     "1: mov $34, %%eax\n\t"
		     "syscall\n\t"
		     "jmp 1b" : : : "rax", "rcx", "r11", "memory");
	__builtin_unreachable();
}

static void *thr(void *)
{
	leak<Circle>(2);          // in this thread's arena
	leak<geo::Polygon>(1);
	keep<geo::Polygon>(2);
	scrub_stack();
	sem_post(&ready);
	block_forever();
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	setvbuf(stdout, NULL, _IONBF, 0);
	char path[4096];
	snprintf(path, sizeof(path), "%s/expect.txt", dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 1;
	}
	setvbuf(f, NULL, _IONBF, 0);
	sem_init(&ready, 0, 0);

	pthread_t th;
	pthread_create(&th, NULL, thr, NULL);
	sem_wait(&ready);

	keep<Circle>(3);
	keep<geo::Kept>(4);
	leak<Circle>(5);
	leak<geo::Polygon>(3);
	keep<geo::Polygon>(1);
	leak<geo::Box<int, 3>>(2);    // a template: needs a real demangler
	keep<geo::Box<int, 3>>(1);
	leak_plain(0x40, 2);          // no vtable: type null
	scrub_stack();

	for (int i = 0; i < nrecs; i++)
		fprintf(f, "%s 0x%lx %zu %s\n", recs[i].kind, (unsigned long)(recs[i].x ^ HIDE), recs[i].req,
			recs[i].cls);
	fprintf(f, "pid %d\n", (int)getpid());
	fclose(f);
	scrub_stack();
	printf("ready %d\n", (int)getpid());
	block_forever();
}
