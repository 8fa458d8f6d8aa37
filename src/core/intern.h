/* Byte-string interning (part dictionaries, label tables, grouping at query time): maps
 * strings to dense ids (0, 1, ...) in order of first appearance, and finds the id of a
 * string. Not thread-safe. */
#ifndef OSP_CORE_INTERN_H
#define OSP_CORE_INTERN_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/str.h"

typedef struct osp_intern {
    osp_arena arena;  /* copies of added strings (copying tables only) */
    int copy;         /* 1: add copies the bytes; 0: they must outlive the table */
    osp_str *strs;    /* id -> string */
    uint64_t *hashes; /* id -> hash */
    uint32_t n, cap;
    uint32_t *slots; /* open addressing: id + 1, 0 = empty */
    uint32_t mask;   /* number of slots - 1 (a power of two), or 0 before the first add */
    uint32_t last;   /* the id osp_intern_add gave last (when n > 0): repeats skip the hash */
} osp_intern;

/* Initializes an empty table. copy = 1 makes osp_intern_add keep its own copies. */
void osp_intern_init(osp_intern *t, int copy);
void osp_intern_cleanup(osp_intern *t);

/* Sets *id to the id of s, adding s first when absent. 0, OSP_ENOMEM, or OSP_ETOOBIG
 * past 2^31 strings. */
int osp_intern_add(osp_intern *t, osp_str s, uint32_t *id);

/* 1 with *id when s is present, 0 when absent. */
int osp_intern_find(const osp_intern *t, osp_str s, uint32_t *id);

#endif
