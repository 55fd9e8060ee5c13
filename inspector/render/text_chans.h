/* SPDX-License-Identifier: MIT */
/**
 * @file text_chans.h
 * Text printers of the channel commands (chans, chan ADDR, graph, Go leaks) and
 * the graphviz DOT printer (dot.c). Like every printer, they only read the tree.
 */
#ifndef TLI_RENDER_TEXT_CHANS_H
#define TLI_RENDER_TEXT_CHANS_H

#include <stdio.h>

#include <jansson.h>

#include "render/render.h"

void tli_text_chans(FILE *f, json_t *doc, const struct tli_render_opts *opts);
void tli_text_chan(FILE *f, json_t *doc, const struct tli_render_opts *opts);
/** Go leaks (doc.go.leaked_goroutines) then glibc leaks (doc.heap) when present. */
void tli_text_leaks(FILE *f, json_t *doc, const struct tli_render_opts *opts);
/** go.explain of `leaks --explain ID` (text_leakexplain.c). */
void tli_text_leak_explain(FILE *f, json_t *e);
/** doc.graph as text, or as DOT when doc.graph.render == "dot". */
void tli_text_graph(FILE *f, json_t *doc, const struct tli_render_opts *opts);
/** Groups of the grouped graph drawn by default. */
#define TLI_GRAPH_DEFAULT_TOP 40
/** doc.graph in graphviz DOT: the groups (at most `top`, 0 = all), or every node under --focus. */
void tli_dot_graph(FILE *f, json_t *graph, int top);
/** One group's label: "50 goroutines [chan send] main.f (main.go:51)" or "50 channels chan int (cap 0)". */
void tli_graph_group_label(char *buf, size_t cap, json_t *g, const char *sep);

#endif
