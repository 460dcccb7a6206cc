/* hftlab.okx._levels: the compiled form of hftlab/okx/levels.py (one side of an OKX book).

   levels.py is the definition: this file does what its `PyLevels`, `py_checksum_text` and
   `py_first_bad_level` do (tests/unit/okx/test_levels.py holds the two equal, level by level), only
   without a Python bytecode per level. Why C: a 400-level `books` update carries ~90 levels, and
   any Python loop over them (float(), a dict operation, a bisect) costs more than orjson.loads of
   the whole frame (hftlab bench feed).

   A side is an array of (key, slot) sorted ascending by key, where key = sign * float(price) (bids
   negated, so both sides run best first). A slot holds one level as the exact UTF-8 bytes of its
   strings (price, size, and the rest: `[px, sz, "0", numOrders]`), so the checksum reads prices and
   sizes exactly as received, and the frame's own objects die with the frame: a book that kept
   them would free them frames later, from cold memory, which on four 400-level books cost more than
   everything else the book does (hftlab bench feed). Reading a level builds its list again, equal to
   the one received. A level that is not a list of at most MAX_ITEMS strings fitting INLINE bytes is
   kept as the object itself. An update whose keys ascend (OKX sends each side best first) is merged
   into the array in one pass; any other is applied level by level (binary search and memmove), with
   the same result. Every level of an update or snapshot is read and checked before the side changes,
   so a bad level leaves it as it was.

   Keys are parsed exactly as float() does: a plain decimal of at most 19 digits and at most 22
   fraction digits is m / 10^e with both operands exact doubles, one correctly rounded division,
   i.e. the correctly rounded value float() returns; anything else goes to PyFloat_FromString. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define DEPTH 25
#define MERGE_MIN 4 /* updates with fewer levels are applied one by one */
#define MAX_ITEMS 4
#define INLINE 51 /* bytes of strings a slot holds: a slot is one 64-byte cache line */

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

typedef struct {
    PyObject *boxed; /* the level itself when it is not kept as bytes (strong reference), else NULL */
    uint8_t n;       /* items */
    uint8_t len[MAX_ITEMS];
    char data[INLINE];
} Slot;

typedef struct {
    double key;
    uint32_t slot;
} Entry;

typedef struct {
    double key;
    PyObject *level; /* borrowed from the update */
    int del;
} Change;

typedef struct {
    PyObject_HEAD
    double sign;
    Entry *e; /* sorted ascending by key */
    Py_ssize_t n, cap;
    Entry *spare; /* the merge target, swapped with e */
    Py_ssize_t spare_cap;
    Slot *slots; /* the pool the entries point into */
    uint32_t *free; /* unused slots */
    Py_ssize_t n_slots, n_free;
    Change *chg; /* per-update scratch */
    Py_ssize_t chg_cap;
    PyObject **park; /* boxed levels an update dropped, released once the side is consistent */
    Py_ssize_t n_park, park_cap;
} Levels;

/* ---- numbers ------------------------------------------------------------------------------ */

/* 1 and *out set: s is a plain decimal ([0-9]*.?[0-9]*, a digit somewhere) of at most 19 digits
   that the fast path converts exactly; 0: let float() decide. */
static inline int simple_decimal(const char *s, Py_ssize_t n, double *out) {
    if (n == 0 || n > 20) return 0; /* 20: 19 digits and a point; longer is float()'s */
    const char *p = s, *end = s + n;
    uint64_t m = 0;
    unsigned d;
    while (p < end && (d = (unsigned)(unsigned char)*p - '0') <= 9) {
        m = m * 10 + d;
        p++;
    }
    Py_ssize_t digits = p - s, frac = 0;
    if (p < end) {
        if (*p != '.') return 0;
        const char *f = ++p;
        while (p < end && (d = (unsigned)(unsigned char)*p - '0') <= 9) {
            m = m * 10 + d;
            p++;
        }
        if (p != end) return 0;
        frac = p - f;
        digits += frac;
    }
    if (digits == 0 || digits > 19 || frac > 22 || m > (1ULL << 53)) return 0;
    *out = (double)m / POW10[frac];
    return 1;
}

/* The UTF-8 bytes of a str: pure ASCII (what OKX sends) is read in place. */
static inline const char *utf8(PyObject *o, Py_ssize_t *n) {
    if (PyUnicode_IS_COMPACT_ASCII(o)) {
        *n = PyUnicode_GET_LENGTH(o);
        return (const char *)PyUnicode_DATA(o);
    }
    return PyUnicode_AsUTF8AndSize(o, n);
}

/* For a plain decimal ([0-9]*.?[0-9]*, a digit somewhere): 1 if it is zero, 0 if not; -1: not plain. */
static inline int plain_zero(const char *s, Py_ssize_t n) {
    int nonzero = 0, seen_dot = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= '1' && c <= '9')
            nonzero = 1;
        else if (c == '.' && !seen_dot)
            seen_dot = 1;
        else if (c != '0')
            return -1;
    }
    return n > seen_dot ? !nonzero : -1;
}

/* float(obj) for a str; -1 and an exception on failure. */
static inline int to_double(PyObject *obj, const char *s, Py_ssize_t n, double *out) {
    if (simple_decimal(s, n, out)) return 0;
    PyObject *f = PyFloat_FromString(obj);
    if (f == NULL) return -1;
    *out = PyFloat_AS_DOUBLE(f);
    Py_DECREF(f);
    return 0;
}

/* px and sz of one level: the first two items, str both, else TypeError. */
static inline int level_items(PyObject *lv, PyObject **px, PyObject **sz) {
    if (PyList_CheckExact(lv)) {
        if (PyList_GET_SIZE(lv) < 2) goto short_level;
        *px = PyList_GET_ITEM(lv, 0);
        *sz = PyList_GET_ITEM(lv, 1);
    } else if (PyTuple_CheckExact(lv)) {
        if (PyTuple_GET_SIZE(lv) < 2) goto short_level;
        *px = PyTuple_GET_ITEM(lv, 0);
        *sz = PyTuple_GET_ITEM(lv, 1);
    } else {
        PyErr_Format(PyExc_TypeError, "a level must be a list, got %.80s", Py_TYPE(lv)->tp_name);
        return -1;
    }
    if (!PyUnicode_CheckExact(*px) || !PyUnicode_CheckExact(*sz)) {
        PyErr_SetString(PyExc_TypeError, "price and size must be strings");
        return -1;
    }
    return 0;
short_level:
    PyErr_SetString(PyExc_IndexError, "a level needs a price and a size");
    return -1;
}

/* key and delete flag of one level, with levels.py's checks in its order. */
static inline int read_level(PyObject *lv, double sign, double *key, int *del) {
    PyObject *px, *sz;
    if (level_items(lv, &px, &sz) < 0) return -1;
    Py_ssize_t n;
    const char *s = utf8(px, &n);
    if (s == NULL) return -1;
    double k;
    if (to_double(px, s, n, &k) < 0) return -1;
    k *= sign;
    if (!isfinite(k)) {
        PyErr_SetString(PyExc_ValueError, "price must be a finite number");
        return -1;
    }
    *key = k;
    s = utf8(sz, &n);
    if (s == NULL) return -1;
    if (n == 0) {
        PyErr_SetString(PyExc_IndexError, "string index out of range");
        return -1;
    }
    *del = 0;
    if (s[0] == '0') { /* "0" deletes; so would "0.000" */
        int zero = plain_zero(s, n);
        if (zero < 0) { /* not a plain decimal: float() decides, and may refuse it */
            double v;
            if (to_double(sz, s, n, &v) < 0) return -1;
            zero = v == 0.0;
        }
        *del = zero;
    }
    return 0;
}

/* ---- slots --------------------------------------------------------------------------------- */

static int grow(void **buf, Py_ssize_t *cap, Py_ssize_t need, size_t item) {
    if (need <= *cap) return 0;
    Py_ssize_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *p = PyMem_Realloc(*buf, (size_t)c * item);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *buf = p;
    *cap = c;
    return 0;
}

/* Room for `k` more slots and `k` parked objects, so that nothing after can fail. */
static int reserve_slots(Levels *self, Py_ssize_t k) {
    Py_ssize_t need = self->n_slots - self->n_free + k, cap = self->n_slots;
    if (need > cap) {
        Py_ssize_t old = self->n_slots, fcap = old;
        if (grow((void **)&self->slots, &cap, need, sizeof(Slot)) < 0) return -1;
        if (grow((void **)&self->free, &fcap, cap, sizeof(uint32_t)) < 0) return -1;
        for (Py_ssize_t i = cap - 1; i >= old; i--) self->free[self->n_free++] = (uint32_t)i;
        self->n_slots = cap;
    }
    return grow((void **)&self->park, &self->park_cap, self->n_park + k, sizeof(PyObject *));
}

/* The level into slot s (room was reserved; levels were checked by read_level). */
static void slot_set(Slot *s, PyObject *lv) {
    s->boxed = NULL;
    if (PyList_CheckExact(lv) && PyList_GET_SIZE(lv) <= MAX_ITEMS) {
        Py_ssize_t k = PyList_GET_SIZE(lv), used = 0, i;
        for (i = 0; i < k; i++) {
            PyObject *item = PyList_GET_ITEM(lv, i);
            if (!PyUnicode_CheckExact(item) || !PyUnicode_IS_COMPACT_ASCII(item)) break;
            Py_ssize_t n = PyUnicode_GET_LENGTH(item);
            if (used + n > INLINE) break;
            memcpy(s->data + used, PyUnicode_DATA(item), (size_t)n);
            s->len[i] = (uint8_t)n;
            used += n;
        }
        if (i == k) {
            s->n = (uint8_t)k;
            return;
        }
    }
    s->boxed = Py_NewRef(lv);
}

static uint32_t slot_new(Levels *self, PyObject *lv) {
    uint32_t i = self->free[--self->n_free];
    slot_set(&self->slots[i], lv);
    return i;
}

/* Give slot i back; a boxed level is parked (released by unpark once the side is consistent). */
static void slot_drop(Levels *self, uint32_t i) {
    Slot *s = &self->slots[i];
    if (s->boxed != NULL) {
        self->park[self->n_park++] = s->boxed;
        s->boxed = NULL;
    }
    self->free[self->n_free++] = i;
}

static void unpark(Levels *self) {
    Py_ssize_t n = self->n_park;
    self->n_park = 0;
    for (Py_ssize_t i = 0; i < n; i++) Py_DECREF(self->park[i]);
}

/* The level as a list equal to the one received (the object itself when boxed). */
static PyObject *slot_level(const Slot *s) {
    if (s->boxed != NULL) return Py_NewRef(s->boxed);
    PyObject *out = PyList_New(s->n);
    if (out == NULL) return NULL;
    const char *p = s->data;
    for (int i = 0; i < s->n; i++) {
        PyObject *item = PyUnicode_FromStringAndSize(p, s->len[i]);
        if (item == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, item);
        p += s->len[i];
    }
    return out;
}

static Py_ssize_t lower_bound(const Entry *e, Py_ssize_t n, double k) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) >> 1;
        if (e[mid].key < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- the type ------------------------------------------------------------------------------ */

static int Levels_init(Levels *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"sign", NULL};
    double sign;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "d", kwlist, &sign)) return -1;
    self->sign = sign;
    return 0;
}

/* Every level dropped (boxed ones parked; the caller unparks). */
static void drop_all(Levels *self) {
    for (Py_ssize_t i = 0; i < self->n; i++) slot_drop(self, self->e[i].slot);
    self->n = 0;
}

static void Levels_clear_entries(Levels *self) {
    if (grow((void **)&self->park, &self->park_cap, self->n_park + self->n, sizeof(PyObject *)) < 0) {
        PyErr_Clear(); /* no room to park: release each boxed level at once */
        for (Py_ssize_t i = 0; i < self->n; i++) {
            Slot *s = &self->slots[self->e[i].slot];
            self->free[self->n_free++] = self->e[i].slot;
            Py_CLEAR(s->boxed);
        }
        self->n = 0;
        return;
    }
    drop_all(self);
    unpark(self);
}

static int Levels_tp_clear(Levels *self) {
    Levels_clear_entries(self);
    return 0;
}

static int Levels_traverse(Levels *self, visitproc visit, void *arg) {
    for (Py_ssize_t i = 0; i < self->n; i++) Py_VISIT(self->slots[self->e[i].slot].boxed);
    return 0;
}

static void Levels_dealloc(Levels *self) {
    PyObject_GC_UnTrack(self);
    Levels_clear_entries(self);
    PyMem_Free(self->e);
    PyMem_Free(self->spare);
    PyMem_Free(self->slots);
    PyMem_Free(self->free);
    PyMem_Free(self->chg);
    PyMem_Free(self->park);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Levels_clear(Levels *self, PyObject *unused) {
    Levels_clear_entries(self);
    Py_RETURN_NONE;
}

/* The update's levels as changes, in order, every one checked; -1 on a bad level.
   *ascending: strictly ascending keys. */
static Py_ssize_t read_changes(Levels *self, PyObject *seq, int *ascending) {
    Py_ssize_t m = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    if (grow((void **)&self->chg, &self->chg_cap, m, sizeof(Change)) < 0) return -1;
    Change *c = self->chg;
    int asc = 1;
    for (Py_ssize_t i = 0; i < m; i++) {
        if (read_level(items[i], self->sign, &c[i].key, &c[i].del) < 0) return -1;
        c[i].level = items[i];
        if (i > 0 && !(c[i].key > c[i - 1].key)) asc = 0;
    }
    *ascending = asc;
    return m;
}

/* ---- load: a snapshot ---------------------------------------------------------------------- */

typedef struct {
    double key;
    Py_ssize_t pos;
    PyObject *level;
} Keyed;

static int keyed_cmp(const void *a, const void *b) {
    const Keyed *x = a, *y = b;
    if (x->key < y->key) return -1;
    if (x->key > y->key) return 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Replace the side with these levels (zero sizes skipped; for a price given twice the last wins).
   On error the side is unchanged. */
static PyObject *Levels_load(Levels *self, PyObject *levels) {
    PyObject *seq = PySequence_Fast(levels, "levels must be iterable");
    if (seq == NULL) return NULL;
    int asc;
    Keyed *k = NULL;
    Py_ssize_t m = read_changes(self, seq, &asc);
    if (m < 0) goto fail;
    k = PyMem_Malloc((size_t)(m ? m : 1) * sizeof(Keyed));
    if (k == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        if (self->chg[i].del) continue;
        k[kept].key = self->chg[i].key;
        k[kept].pos = i;
        k[kept].level = self->chg[i].level;
        kept++;
    }
    if (!asc) qsort(k, (size_t)kept, sizeof(Keyed), keyed_cmp);
    Py_ssize_t uniq = 0; /* for a price given twice the later occurrence wins */
    for (Py_ssize_t i = 0; i < kept; i++) {
        if (uniq > 0 && k[uniq - 1].key == k[i].key) uniq--;
        k[uniq++] = k[i];
    }
    if (grow((void **)&self->spare, &self->spare_cap, uniq, sizeof(Entry)) < 0 ||
        reserve_slots(self, uniq + self->n) < 0)
        goto fail;
    drop_all(self); /* nothing below can fail */
    Entry *out = self->spare;
    for (Py_ssize_t i = 0; i < uniq; i++) {
        out[i].key = k[i].key;
        out[i].slot = slot_new(self, k[i].level);
    }
    Entry *old = self->e;
    Py_ssize_t old_cap = self->cap;
    self->e = out;
    self->n = uniq;
    self->cap = self->spare_cap;
    self->spare = old;
    self->spare_cap = old_cap;
    PyMem_Free(k);
    Py_DECREF(seq);
    unpark(self);
    Py_RETURN_NONE;
fail:
    PyMem_Free(k);
    Py_DECREF(seq);
    return NULL;
}

/* ---- apply: an update ---------------------------------------------------------------------- */

static void apply_one(Levels *self, const Change *c, int *touched) {
    Py_ssize_t n = self->n;
    Entry *e = self->e;
    Py_ssize_t i = lower_bound(e, n, c->key);
    int present = i < n && e[i].key == c->key;
    if (c->del) {
        if (!present) return; /* OKX deletes prices it never sent us: a no-op */
        slot_drop(self, e[i].slot);
        memmove(e + i, e + i + 1, (size_t)(n - i - 1) * sizeof(Entry));
        self->n = n - 1;
    } else if (present) {
        slot_drop(self, e[i].slot);
        e[i].slot = slot_new(self, c->level);
    } else {
        memmove(e + i + 1, e + i, (size_t)(n - i) * sizeof(Entry));
        e[i].key = c->key;
        e[i].slot = slot_new(self, c->level);
        self->n = n + 1;
    }
    if (i < DEPTH) *touched = 1;
}

/* Changes with strictly ascending keys, merged into the side in one pass. */
static void apply_merge(Levels *self, Py_ssize_t m, int *touched) {
    Py_ssize_t n = self->n;
    const Entry *e = self->e;
    Entry *out = self->spare;
    const Change *c = self->chg;
    Py_ssize_t i = 0, j = 0;
    for (Py_ssize_t u = 0; u < m; u++) {
        double k = c[u].key;
        Py_ssize_t start = i;
        while (i < n && e[i].key < k) i++;
        if (i > start) {
            memcpy(out + j, e + start, (size_t)(i - start) * sizeof(Entry));
            j += i - start;
        }
        int present = i < n && e[i].key == k;
        if (c[u].del) {
            if (present) {
                slot_drop(self, e[i++].slot);
                if (j < DEPTH) *touched = 1;
            }
            continue;
        }
        if (present) slot_drop(self, e[i++].slot);
        if (j < DEPTH) *touched = 1;
        out[j].key = k;
        out[j].slot = slot_new(self, c[u].level);
        j++;
    }
    if (i < n) {
        memcpy(out + j, e + i, (size_t)(n - i) * sizeof(Entry));
        j += n - i;
    }
    Entry *old = self->e;
    Py_ssize_t old_cap = self->cap;
    self->e = out;
    self->n = j;
    self->cap = self->spare_cap;
    self->spare = old;
    self->spare_cap = old_cap;
}

/* Apply update levels in order; True if the top DEPTH levels changed. A bad level raises before
   anything changed. */
static PyObject *Levels_apply(Levels *self, PyObject *levels) {
    PyObject *seq = PySequence_Fast(levels, "levels must be iterable");
    if (seq == NULL) return NULL;
    int asc, touched = 0;
    Py_ssize_t m = read_changes(self, seq, &asc);
    int merge = m >= MERGE_MIN && asc;
    if (m < 0 || reserve_slots(self, m) < 0 ||
        (merge ? grow((void **)&self->spare, &self->spare_cap, self->n + m, sizeof(Entry))
               : grow((void **)&self->e, &self->cap, self->n + m, sizeof(Entry))) < 0) {
        Py_DECREF(seq);
        return NULL;
    }
    if (merge) {
        apply_merge(self, m, &touched);
    } else {
        for (Py_ssize_t u = 0; u < m; u++) apply_one(self, &self->chg[u], &touched);
    }
    Py_DECREF(seq);
    unpark(self);
    return PyBool_FromLong(touched);
}

/* ---- reading ------------------------------------------------------------------------------- */

static PyObject *Levels_first(Levels *self, PyObject *arg) {
    Py_ssize_t n = self->n;
    if (arg != Py_None) {
        Py_ssize_t k = PyLong_AsSsize_t(arg);
        if (k == -1 && PyErr_Occurred()) return NULL;
        if (k < 0) k = n + k < 0 ? 0 : n + k; /* as a slice [:k] */
        if (k < n) n = k;
    }
    PyObject *out = PyList_New(n);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *lv = slot_level(&self->slots[self->e[i].slot]);
        if (lv == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, lv);
    }
    return out;
}

static PyObject *Levels_best(Levels *self, PyObject *unused) {
    if (self->n == 0) Py_RETURN_NONE;
    return slot_level(&self->slots[self->e[0].slot]);
}

static PyObject *Levels_best_key(Levels *self, PyObject *unused) {
    if (self->n == 0) Py_RETURN_NONE;
    return PyFloat_FromDouble(self->e[0].key);
}

static Py_ssize_t Levels_len(Levels *self) { return self->n; }

static PyObject *Levels_get_sign(Levels *self, void *closure) { return PyFloat_FromDouble(self->sign); }

static PyMethodDef Levels_methods[] = {
    {"clear", (PyCFunction)Levels_clear, METH_NOARGS, "Drop every level."},
    {"load", (PyCFunction)Levels_load, METH_O, "Replace the side with a snapshot's levels."},
    {"apply", (PyCFunction)Levels_apply, METH_O, "Apply update levels; True if the top 25 changed."},
    {"first", (PyCFunction)Levels_first, METH_O, "The first n levels (None: all), best first, as received."},
    {"best", (PyCFunction)Levels_best, METH_NOARGS, "The best level, or None."},
    {"best_key", (PyCFunction)Levels_best_key, METH_NOARGS, "sign * best price, or None."},
    {NULL},
};

static PyGetSetDef Levels_getset[] = {
    {"sign", (getter)Levels_get_sign, NULL, "1.0 for asks, -1.0 for bids", NULL},
    {NULL},
};

static PySequenceMethods Levels_as_sequence = {.sq_length = (lenfunc)Levels_len};

static PyTypeObject LevelsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hftlab.okx._levels.Levels",
    .tp_doc = "One side of an OKX order book (compiled; see hftlab/okx/levels.py).",
    .tp_basicsize = sizeof(Levels),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Levels_init,
    .tp_dealloc = (destructor)Levels_dealloc,
    .tp_traverse = (traverseproc)Levels_traverse,
    .tp_clear = (inquiry)Levels_tp_clear,
    .tp_methods = Levels_methods,
    .tp_getset = Levels_getset,
    .tp_as_sequence = &Levels_as_sequence,
};

/* ---- module functions ---------------------------------------------------------------------- */

static int append(char **buf, Py_ssize_t *len, Py_ssize_t *cap, const char *s, Py_ssize_t n) {
    if (*len + n > *cap) {
        Py_ssize_t c = *cap * 2;
        while (c < *len + n) c *= 2;
        char *p = PyMem_Realloc(*buf, (size_t)c);
        if (p == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *len, s, (size_t)n);
    *len += n;
    return 0;
}

/* `px:sz` of one slot, after a ':' unless it is the first part. */
static int append_part(char **buf, Py_ssize_t *len, Py_ssize_t *cap, const Slot *s) {
    const char *px, *sz;
    Py_ssize_t npx, nsz;
    if (s->boxed != NULL) {
        PyObject *p, *z;
        if (level_items(s->boxed, &p, &z) < 0 || (px = utf8(p, &npx)) == NULL || (sz = utf8(z, &nsz)) == NULL)
            return -1;
    } else {
        px = s->data;
        npx = s->len[0];
        sz = s->data + npx;
        nsz = s->len[1];
    }
    if ((*len > 0 && append(buf, len, cap, ":", 1) < 0) || append(buf, len, cap, px, npx) < 0 ||
        append(buf, len, cap, ":", 1) < 0 || append(buf, len, cap, sz, nsz) < 0)
        return -1;
    return 0;
}

static PyObject *checksum_text(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyObject_TypeCheck(args[0], &LevelsType) || !PyObject_TypeCheck(args[1], &LevelsType)) {
        PyErr_SetString(PyExc_TypeError, "checksum_text(bids: Levels, asks: Levels)");
        return NULL;
    }
    Levels *b = (Levels *)args[0], *a = (Levels *)args[1];
    Py_ssize_t nb = b->n < DEPTH ? b->n : DEPTH, na = a->n < DEPTH ? a->n : DEPTH;
    Py_ssize_t len = 0, cap = 2048;
    char *buf = PyMem_Malloc((size_t)cap);
    if (buf == NULL) return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < DEPTH; i++) {
        if ((i < nb && append_part(&buf, &len, &cap, &b->slots[b->e[i].slot]) < 0) ||
            (i < na && append_part(&buf, &len, &cap, &a->slots[a->e[i].slot]) < 0)) {
            PyMem_Free(buf);
            return NULL;
        }
    }
    PyObject *out = PyBytes_FromStringAndSize(buf, len);
    PyMem_Free(buf);
    return out;
}

/* For an ASCII string: 1 if it is a plain decimal ([0-9]*.?[0-9]*, a digit somewhere) other than
   zero, 0 if a plain zero, -1 if not plain. One pass, no conversion. */
static inline int plain_sign(const char *s, Py_ssize_t n) {
    unsigned any = 0;
    int dot = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d <= 9)
            any |= d;
        else if (s[i] == '.' && !dot)
            dot = 1;
        else
            return -1;
    }
    return n > dot ? any != 0 : -1;
}

/* float()'s verdict, for what the fast path cannot tell. */
static int number_ok_slow(PyObject *obj, int positive) {
    PyObject *f = PyFloat_FromString(obj);
    if (f == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError)) return -1;
        PyErr_Clear();
        return 0;
    }
    double v = PyFloat_AS_DOUBLE(f);
    Py_DECREF(f);
    return isfinite(v) && (positive ? v > 0.0 : v >= 0.0);
}

/* 1: `obj` (a str) is a number float() reads as finite and > 0 (`positive`) or >= 0; 0: it is not;
   -1: an error other than "not a number" (memory). levels.py's `_number_ok`. A plain decimal
   shorter than 300 characters is finite whatever its digits, so they alone decide. */
static inline int number_ok(PyObject *obj, int positive) {
    if (PyUnicode_IS_COMPACT_ASCII(obj)) {
        Py_ssize_t n = PyUnicode_GET_LENGTH(obj);
        if (n < 300) {
            int sign = plain_sign((const char *)PyUnicode_DATA(obj), n);
            if (sign >= 0) return positive ? sign : 1;
        }
    }
    return number_ok_slow(obj, positive);
}

/* The parser's check of one side: the index of the first level that is not a list starting with a
   price (a string float() reads as finite and > 0) and a size (finite and >= 0), or -1.
   Also takes each good level out of the cyclic garbage collector's care: a list holding only
   strings cannot be part of a reference cycle, and hftlab never mutates a level (events.Level is
   "as received"). A books update makes ~90 such lists, alive while the frame's event waits in the
   client's queue; tracked, they made the collector the largest cost of the client's per-frame path
   (hftlab bench feed). */
static PyObject *first_bad_level(PyObject *module, PyObject *levels) {
    if (!PyList_Check(levels)) {
        PyErr_SetString(PyExc_TypeError, "levels must be a list");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(levels);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *lv = PyList_GET_ITEM(levels, i);
        if (!PyList_CheckExact(lv) || PyList_GET_SIZE(lv) < 2 || !PyUnicode_CheckExact(PyList_GET_ITEM(lv, 0)) ||
            !PyUnicode_CheckExact(PyList_GET_ITEM(lv, 1)))
            return PyLong_FromSsize_t(i);
        int ok = number_ok(PyList_GET_ITEM(lv, 0), 1);
        if (ok > 0) ok = number_ok(PyList_GET_ITEM(lv, 1), 0);
        if (ok < 0) return NULL;
        if (ok == 0) return PyLong_FromSsize_t(i);
        if (PyObject_GC_IsTracked(lv)) {
            Py_ssize_t k = PyList_GET_SIZE(lv), j = 2;
            while (j < k && PyUnicode_CheckExact(PyList_GET_ITEM(lv, j))) j++;
            if (j == k) PyObject_GC_UnTrack(lv);
        }
    }
    return PyLong_FromLong(-1);
}

static PyMethodDef module_methods[] = {
    {"checksum_text", (PyCFunction)(void (*)(void))checksum_text, METH_FASTCALL,
     "The checksum's input, bytes: the top 25 `px:sz` of each side interleaved."},
    {"first_bad_level", (PyCFunction)first_bad_level, METH_O,
     "Index of the first level that is not [price, size, ...] (a list; price a string of a finite number > 0, "
     "size of one >= 0), or -1; levels of strings only are untracked by the cyclic GC."},
    {NULL},
};

static struct PyModuleDef levels_module = {
    PyModuleDef_HEAD_INIT, .m_name = "hftlab.okx._levels",
    .m_doc = "Compiled order-book sides; the definition is hftlab/okx/levels.py.", .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__levels(void) {
    if (PyType_Ready(&LevelsType) < 0) return NULL;
    PyObject *m = PyModule_Create(&levels_module);
    if (m == NULL) return NULL;
    if (PyModule_AddObjectRef(m, "Levels", (PyObject *)&LevelsType) < 0 ||
        PyModule_AddIntConstant(m, "DEPTH", DEPTH) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
