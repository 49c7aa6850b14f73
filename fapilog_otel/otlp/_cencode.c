/*
 * The compiled encoder of one OTLP/protobuf LogRecord (fapilog_otel.otlp._cencode).
 *
 * encode_record(fallback, record) returns exactly the bytes of the pure-Python
 * encode_record in _protobuf.py: the content of one LogRecord message, fields in the same
 * order (both times first when both are set, else the time first and the observed time
 * after the trace fields). It writes the common shapes of record itself (the "fast
 * subset", see in_fast_subset in tests/unit/test_compiled_encoder.py) and hands any other
 * record to fallback, the Python encoder, so that one place decides the rare cases: values
 * that need str(), containers, subclasses, ints outside int64, strings that are not valid
 * UTF-8, and records the Python encoder rejects (its exception is the caller's answer).
 *
 * The record's fields are read straight from its slots, at the offsets that setup() finds
 * in the member descriptors of the LogRecord class; only records of exactly that class
 * are read this way. No Python code runs while a record is encoded (every value is of an
 * exact builtin type), so the borrowed references stay valid throughout.
 *
 * encode_raw(fallback, view, raw) does the same for the direct path (fapilog_otel/_direct.py):
 * it encodes a queued tuple, its attributes and body redacted as the plan's Redaction
 * decides. Decisions are read from the Redaction's caches; one not cached yet is asked of
 * the Redaction (Python code, which caches it). The tuple and its attribute dicts are
 * never changed once queued, so borrowed references into them stay valid across those
 * calls; the values the redaction returns are held as references until written.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_OBJECT_EX T_OBJECT_EX
#endif

#include <stdint.h>
#include <string.h>

/* Tags (field number << 3 | wire type) named <message>_<field>, as in _protobuf.py. */
#define RECORD_TIME 0x09
#define RECORD_SEVERITY_NUMBER 0x10
#define RECORD_SEVERITY_TEXT 0x1a
#define RECORD_BODY 0x2a
#define RECORD_ATTRIBUTES 0x32
#define RECORD_DROPPED 0x38
#define RECORD_FLAGS 0x45
#define RECORD_TRACE_ID 0x4a
#define RECORD_SPAN_ID 0x52
#define RECORD_OBSERVED_TIME 0x59
#define RECORD_EVENT_NAME 0x62
#define KEY_VALUE_KEY 0x0a
#define KEY_VALUE_VALUE 0x12
#define ANY_STRING 0x0a
#define ANY_BOOL 0x10
#define ANY_INT 0x18
#define ANY_DOUBLE 0x21
#define ANY_BYTES 0x3a

#define MAX_SEVERITY 24
#define UINT32_LIMIT ((uint64_t)1 << 32)

/* Enough for a typical record; larger ones move to the heap. */
#define STACK_BYTES 1024

/* The slots the encoder reads; scope and resource are encoded elsewhere. */
enum {
    F_TIMESTAMP,
    F_OBSERVED_TIMESTAMP,
    F_SEVERITY_NUMBER,
    F_SEVERITY_TEXT,
    F_BODY,
    F_ATTRIBUTES,
    F_DROPPED_ATTRIBUTES_COUNT,
    F_TRACE_FLAGS,
    F_TRACE_ID,
    F_SPAN_ID,
    F_EVENT_NAME,
    N_FIELDS
};

static const char *const field_names[N_FIELDS] = {
    "timestamp",
    "observed_timestamp",
    "severity_number",
    "severity_text",
    "body",
    "attributes",
    "dropped_attributes_count",
    "trace_flags",
    "trace_id",
    "span_id",
    "event_name",
};

typedef struct {
    PyTypeObject *record_type; /* NULL until setup() */
    Py_ssize_t offsets[N_FIELDS];
} State;

static inline State *
get_state(PyObject *module)
{
    return (State *)PyModule_GetState(module);
}

/* ---------------------------------------------------------------------------------- */
/* The output buffer: on the stack, moved to the heap when a record outgrows it.        */

typedef struct {
    unsigned char *data;
    size_t size;
    size_t capacity;
    unsigned char stack[STACK_BYTES];
} Buffer;

static void
buffer_init(Buffer *buf)
{
    buf->data = buf->stack;
    buf->size = 0;
    buf->capacity = STACK_BYTES;
}

static void
buffer_free(Buffer *buf)
{
    if (buf->data != buf->stack) {
        PyMem_Free(buf->data);
    }
}

static int
buffer_grow(Buffer *buf, size_t extra)
{
    if (extra > (size_t)PY_SSIZE_T_MAX - buf->size) {
        return -1;
    }
    size_t needed = buf->size + extra;
    size_t capacity = buf->capacity * 2;
    if (capacity < needed || capacity > (size_t)PY_SSIZE_T_MAX) {
        capacity = needed;
    }
    unsigned char *data;
    if (buf->data == buf->stack) {
        data = PyMem_Malloc(capacity);
        if (data != NULL) {
            memcpy(data, buf->stack, buf->size);
        }
    }
    else {
        data = PyMem_Realloc(buf->data, capacity);
    }
    if (data == NULL) {
        return -1;
    }
    buf->data = data;
    buf->capacity = capacity;
    return 0;
}

/* Room for `extra` more bytes; the caller then writes them from buffer_end(). */
static inline int
buffer_reserve(Buffer *buf, size_t extra)
{
    if (extra <= buf->capacity - buf->size) {
        return 0;
    }
    return buffer_grow(buf, extra);
}

static inline unsigned char *
buffer_end(Buffer *buf)
{
    return buf->data + buf->size;
}

static inline void
buffer_commit(Buffer *buf, const unsigned char *end)
{
    buf->size = (size_t)(end - buf->data);
}

/* ---------------------------------------------------------------------------------- */
/* Wire-format pieces.                                                                  */

static inline size_t
varint_size(uint64_t n)
{
    size_t size = 1;
    while (n >= 0x80) {
        n >>= 7;
        size++;
    }
    return size;
}

static inline unsigned char *
put_varint(unsigned char *p, uint64_t n)
{
    while (n >= 0x80) {
        *p++ = (unsigned char)(n | 0x80);
        n >>= 7;
    }
    *p++ = (unsigned char)n;
    return p;
}

static inline unsigned char *
put_fixed64(unsigned char *p, uint64_t n)
{
    for (int i = 0; i < 8; i++) {
        *p++ = (unsigned char)(n >> (8 * i));
    }
    return p;
}

static inline unsigned char *
put_fixed32(unsigned char *p, uint32_t n)
{
    for (int i = 0; i < 4; i++) {
        *p++ = (unsigned char)(n >> (8 * i));
    }
    return p;
}

static inline unsigned char *
put_big_endian64(unsigned char *p, uint64_t n)
{
    for (int i = 7; i >= 0; i--) {
        *p++ = (unsigned char)(n >> (8 * i));
    }
    return p;
}

/* The size of a length-delimited field of `size` bytes with a one-byte tag. */
static inline size_t
field_size(size_t size)
{
    return 1 + varint_size(size) + size;
}

/* ---------------------------------------------------------------------------------- */
/* Strings as UTF-8, written straight from the str's own storage.                       */

typedef struct {
    const void *data;
    Py_ssize_t length; /* code points */
    size_t size;       /* UTF-8 bytes */
    int kind;          /* 0 for ASCII: the data is the UTF-8 */
} Text;

/* The UTF-8 size of a str that is not ASCII; -1 at a lone surrogate. */
static int
measure_wide(Text *text)
{
    int kind = text->kind;
    const void *data = text->data;
    size_t size = (size_t)text->length;
    for (Py_ssize_t i = 0; i < text->length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 0x80) {
            continue;
        }
        if (c < 0x800) {
            size += 1;
        }
        else if (c < 0x10000) {
            if (c >= 0xD800 && c <= 0xDFFF) {
                return -1;
            }
            size += 2;
        }
        else {
            size += 3;
        }
    }
    text->size = size;
    return 0;
}

/*
 * Measure the exact str `text` as UTF-8. Returns -1 when it holds a lone surrogate (the
 * Python encoder writes backslash escapes for those) or when it cannot be read.
 */
static inline int
text_measure(PyObject *text, Text *out)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        return -1;
    }
#endif
    out->data = PyUnicode_DATA(text);
    out->length = PyUnicode_GET_LENGTH(text);
    if (PyUnicode_IS_ASCII(text)) {
        out->kind = 0;
        out->size = (size_t)out->length;
        return 0;
    }
    out->kind = PyUnicode_KIND(text);
    return measure_wide(out);
}

static unsigned char *
put_wide(unsigned char *p, const Text *text)
{
    int kind = text->kind;
    const void *data = text->data;
    for (Py_ssize_t i = 0; i < text->length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 0x80) {
            *p++ = (unsigned char)c;
        }
        else if (c < 0x800) {
            *p++ = (unsigned char)(0xC0 | (c >> 6));
            *p++ = (unsigned char)(0x80 | (c & 0x3F));
        }
        else if (c < 0x10000) {
            *p++ = (unsigned char)(0xE0 | (c >> 12));
            *p++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            *p++ = (unsigned char)(0x80 | (c & 0x3F));
        }
        else {
            *p++ = (unsigned char)(0xF0 | (c >> 18));
            *p++ = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            *p++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            *p++ = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    return p;
}

static inline unsigned char *
put_text(unsigned char *p, const Text *text)
{
    if (text->kind != 0) {
        return put_wide(p, text);
    }
    memcpy(p, text->data, text->size);
    return p + text->size;
}

/* Write the string field `tag` holding `text`. */
static inline int
write_text_field(Buffer *buf, unsigned char tag, const Text *text)
{
    if (buffer_reserve(buf, field_size(text->size)) < 0) {
        return -1;
    }
    unsigned char *p = buffer_end(buf);
    *p++ = tag;
    p = put_varint(p, text->size);
    buffer_commit(buf, put_text(p, text));
    return 0;
}

/*
 * An optional string field (severity text, event name): None or "" is absent (*present
 * is 0); other exact strs are measured into `text`. Returns -1 for anything else.
 */
static int
optional_text(PyObject *value, Text *text, int *present)
{
    *present = 0;
    if (value == Py_None) {
        return 0;
    }
    if (!PyUnicode_CheckExact(value)) {
        return -1;
    }
    if (PyUnicode_GET_LENGTH(value) == 0) {
        return 0;
    }
    *present = 1;
    return text_measure(value, text);
}

/* ---------------------------------------------------------------------------------- */
/* Integers (all exact ints). Each returns -1, with no exception set, when out of range.  */

/*
 * On the versions whose int layout is known (3.10 to 3.13), the digits are read directly:
 * several times faster than the public conversions, which go through a byte array for
 * ints of more than one digit (every timestamp and id). Other versions use the public
 * functions; defining CENCODE_PUBLIC_INT_API selects them on 3.13 too, to test them.
 */
#if PY_VERSION_HEX < 0x030E0000 && !defined(CENCODE_PUBLIC_INT_API)

typedef struct {
    uint64_t high;
    uint64_t low;
    int negative;
} Magnitude;

/* The absolute value of `value` and its sign; -1 when the absolute value is 2**128 or more. */
static inline int
read_magnitude(PyObject *value, Magnitude *out)
{
    PyLongObject *number = (PyLongObject *)value;
#if PY_VERSION_HEX < 0x030C0000
    Py_ssize_t size = Py_SIZE(number);
    Py_ssize_t count = size < 0 ? -size : size;
    const digit *digits = number->ob_digit;
    out->negative = size < 0;
#else
    uintptr_t tag = number->long_value.lv_tag;
    Py_ssize_t count = (Py_ssize_t)(tag >> _PyLong_NON_SIZE_BITS);
    const digit *digits = number->long_value.ob_digit;
    out->negative = (tag & _PyLong_SIGN_MASK) == 2; /* 0 positive, 1 zero, 2 negative */
#endif
    uint64_t high = 0;
    uint64_t low = 0;
    for (Py_ssize_t i = count - 1; i >= 0; i--) {
        if (high >> (64 - PyLong_SHIFT)) {
            return -1;
        }
        high = (high << PyLong_SHIFT) | (low >> (64 - PyLong_SHIFT));
        low = (low << PyLong_SHIFT) | digits[i];
    }
    out->high = high;
    out->low = low;
    return 0;
}

/* An int in [0, 2**64). */
static inline int
as_uint64(PyObject *value, uint64_t *out)
{
    Magnitude m;
    if (!PyLong_CheckExact(value) || read_magnitude(value, &m) < 0 || m.negative ||
        m.high) {
        return -1;
    }
    *out = m.low;
    return 0;
}

/* An int in [-2**63, 2**63), as the 64 bits of its two's complement. */
static inline int
as_int64_bits(PyObject *value, uint64_t *out)
{
    Magnitude m;
    if (read_magnitude(value, &m) < 0 || m.high ||
        m.low > (m.negative ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1)) {
        return -1;
    }
    *out = m.negative ? 0 - m.low : m.low;
    return 0;
}

/* An int in [0, 2**128), as its high and low 64 bits. */
static inline int
as_uint128(PyObject *value, uint64_t *high, uint64_t *low)
{
    Magnitude m;
    if (!PyLong_CheckExact(value) || read_magnitude(value, &m) < 0 || m.negative) {
        return -1;
    }
    *high = m.high;
    *low = m.low;
    return 0;
}

#else /* the public API */

#if PY_VERSION_HEX < 0x030D0000
#error "CENCODE_PUBLIC_INT_API needs Python 3.13 or later (PyLong_AsNativeBytes)"
#endif

static int
as_uint64(PyObject *value, uint64_t *out)
{
    if (!PyLong_CheckExact(value)) {
        return -1;
    }
    unsigned long long n = PyLong_AsUnsignedLongLong(value);
    if (n == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    *out = (uint64_t)n;
    return 0;
}

static int
as_int64_bits(PyObject *value, uint64_t *out)
{
    int overflow;
    long long n = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || (n == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return -1;
    }
    *out = (uint64_t)n;
    return 0;
}

static int
as_uint128(PyObject *value, uint64_t *high, uint64_t *low)
{
    if (!PyLong_CheckExact(value)) {
        return -1;
    }
    uint64_t halves[2];
    Py_ssize_t needed = PyLong_AsNativeBytes(
        value, halves, sizeof halves,
        Py_ASNATIVEBYTES_LITTLE_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER |
            Py_ASNATIVEBYTES_REJECT_NEGATIVE);
    if (needed < 0) {
        PyErr_Clear();
        return -1;
    }
    if (needed > (Py_ssize_t)sizeof halves) {
        return -1;
    }
    unsigned char *bytes = (unsigned char *)halves;
    *low = 0;
    *high = 0;
    for (int i = 7; i >= 0; i--) {
        *low = (*low << 8) | bytes[i];
        *high = (*high << 8) | bytes[8 + i];
    }
    return 0;
}

#endif

/* ---------------------------------------------------------------------------------- */
/* Attributes.                                                                          */

/*
 * Write one attribute: a KeyValue of the key and an AnyValue of a str, bool, int (int64),
 * float, bytes or None (an empty AnyValue). Returns -1 for any other key or value.
 */
static int
write_attribute(Buffer *buf, PyObject *key, PyObject *value)
{
    Text name;
    if (!PyUnicode_CheckExact(key) || PyUnicode_GET_LENGTH(key) == 0 ||
        text_measure(key, &name) < 0) {
        return -1;
    }
    PyTypeObject *cls = Py_TYPE(value);
    Text text;
    uint64_t number = 0;
    const char *bytes = NULL;
    size_t bytes_size = 0;
    size_t any_size;
    if (cls == &PyUnicode_Type) {
        if (text_measure(value, &text) < 0) {
            return -1;
        }
        any_size = field_size(text.size);
    }
    else if (cls == &PyBool_Type) {
        any_size = 2;
    }
    else if (cls == &PyLong_Type) {
        if (as_int64_bits(value, &number) < 0) {
            return -1;
        }
        any_size = 1 + varint_size(number);
    }
    else if (cls == &PyFloat_Type) {
        double d = PyFloat_AS_DOUBLE(value);
        memcpy(&number, &d, sizeof number);
        any_size = 9;
    }
    else if (cls == &PyBytes_Type) {
        bytes = PyBytes_AS_STRING(value);
        bytes_size = (size_t)PyBytes_GET_SIZE(value);
        any_size = field_size(bytes_size);
    }
    else if (value == Py_None) {
        any_size = 0;
    }
    else {
        return -1;
    }
    size_t key_value_size = field_size(name.size) + field_size(any_size);
    if (buffer_reserve(buf, field_size(key_value_size)) < 0) {
        return -1;
    }
    unsigned char *p = buffer_end(buf);
    *p++ = RECORD_ATTRIBUTES;
    p = put_varint(p, key_value_size);
    *p++ = KEY_VALUE_KEY;
    p = put_varint(p, name.size);
    p = put_text(p, &name);
    *p++ = KEY_VALUE_VALUE;
    p = put_varint(p, any_size);
    if (cls == &PyUnicode_Type) {
        *p++ = ANY_STRING;
        p = put_varint(p, text.size);
        p = put_text(p, &text);
    }
    else if (cls == &PyBool_Type) {
        *p++ = ANY_BOOL;
        *p++ = value == Py_True;
    }
    else if (cls == &PyLong_Type) {
        *p++ = ANY_INT;
        p = put_varint(p, number);
    }
    else if (cls == &PyFloat_Type) {
        *p++ = ANY_DOUBLE;
        p = put_fixed64(p, number);
    }
    else if (bytes != NULL) {
        *p++ = ANY_BYTES;
        p = put_varint(p, bytes_size);
        memcpy(p, bytes, bytes_size);
        p += bytes_size;
    }
    buffer_commit(buf, p);
    return 0;
}

/* ---------------------------------------------------------------------------------- */
/* The direct path's redaction: the decisions of fapilog_otel._direct.Redaction.         */

typedef struct {
    PyObject *key_masks;        /* dict: key -> masked whole?; NULL: no key redactor */
    PyObject *decide_key;       /* Redaction.masked: decides (and caches) a key */
    PyObject *masked_value;     /* exact str: what a masked key's value becomes */
    PyObject *clean_texts;      /* dict: text -> text with secrets masked; NULL: none */
    PyObject *clean_text;       /* Redaction.text: cleans (and caches) a text */
    Py_ssize_t min_text_length; /* shorter strings are never changed */
    int scans_ints;             /* whether ints from int_scan_min up may be card numbers */
    int64_t int_scan_min;
    PyObject *value_mask;       /* exact str: what a card number becomes */
} Redaction;

/*
 * Whether `n` is a payment card number as fapilog_otel.processors._secrets.card_int
 * decides: 13 to 19 digits, the first one 2 to 6, and the Luhn check.
 */
static int
is_card_number(uint64_t n)
{
    unsigned char digits[20];
    int count = 0;
    while (n) {
        digits[count++] = (unsigned char)(n % 10); /* the last digit first */
        n /= 10;
    }
    if (count < 13 || count > 19 || digits[count - 1] < 2 || digits[count - 1] > 6) {
        return 0;
    }
    int total = 0;
    for (int i = 0; i < count; i++) {
        int doubled = digits[i];
        if (i & 1) {
            doubled *= 2;
            if (doubled > 9) {
                doubled -= 9;
            }
        }
        total += doubled;
    }
    return total % 10 == 0;
}

/*
 * A text as the value redactor leaves it (a new reference): from the cache, else from
 * Redaction.text (which caches it). NULL (an exception may be set) when it fails.
 */
static PyObject *
clean_text(const Redaction *r, PyObject *text)
{
    if (r->clean_texts == NULL || PyUnicode_GET_LENGTH(text) < r->min_text_length) {
        return Py_NewRef(text);
    }
    PyObject *clean = PyDict_GetItemWithError(r->clean_texts, text);
    if (clean != NULL) {
        Py_INCREF(clean);
    }
    else if (!PyErr_Occurred()) {
        clean = PyObject_CallOneArg(r->clean_text, text);
    }
    if (clean != NULL && !PyUnicode_CheckExact(clean)) {
        Py_CLEAR(clean);
    }
    return clean;
}

/*
 * The value attribute `key` = `value` is sent with, as a new reference. Decisions not
 * cached yet are asked of the Python side (which caches them). NULL for a value of a type
 * the direct path leaves to Python, or when a decision fails.
 */
static PyObject *
redacted(const Redaction *r, PyObject *key, PyObject *value)
{
    if (r->key_masks != NULL) {
        PyObject *masked = PyDict_GetItemWithError(r->key_masks, key);
        int is_masked;
        if (masked != NULL) {
            is_masked = masked == Py_True;
        }
        else {
            if (PyErr_Occurred() || (masked = PyObject_CallOneArg(r->decide_key, key)) == NULL) {
                return NULL;
            }
            is_masked = masked == Py_True;
            Py_DECREF(masked);
        }
        if (is_masked) {
            return Py_NewRef(r->masked_value);
        }
    }
    PyTypeObject *cls = Py_TYPE(value);
    if (cls == &PyUnicode_Type) {
        return clean_text(r, value);
    }
    if (cls == &PyLong_Type) {
        uint64_t bits;
        if (!r->scans_ints) {
            return Py_NewRef(value);
        }
        if (as_int64_bits(value, &bits) < 0) {
            return NULL;
        }
        if ((int64_t)bits >= r->int_scan_min && is_card_number(bits)) {
            return Py_NewRef(r->value_mask);
        }
        return Py_NewRef(value);
    }
    if (cls == &PyBool_Type || cls == &PyFloat_Type || value == Py_None) {
        return Py_NewRef(value);
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* The record.                                                                          */

#define MAX_DICTS 3

/* A record's fields, read and range-checked, ready to write. */
typedef struct {
    uint64_t timestamp, observed, severity, dropped, trace_flags, span_id;
    uint64_t trace_id_high, trace_id_low;
    Text severity_text, event_name, body;
    int has_severity_text, has_event_name, has_body;
    PyObject *dicts[MAX_DICTS]; /* the attributes, in order, with distinct keys */
    int n_dicts;
    PyObject *owned_body; /* a reference read_raw took (the cleaned body), or NULL */
} Parts;

/* Read the optional texts and the body (None or an exact str); -1 outside the subset. */
static int
read_texts(Parts *parts, PyObject *severity_text, PyObject *event_name, PyObject *body)
{
    if (optional_text(severity_text, &parts->severity_text, &parts->has_severity_text) < 0 ||
        optional_text(event_name, &parts->event_name, &parts->has_event_name) < 0) {
        return -1;
    }
    parts->has_body = body != Py_None;
    if (parts->has_body &&
        (!PyUnicode_CheckExact(body) || text_measure(body, &parts->body) < 0)) {
        return -1;
    }
    return 0;
}

/* Check the numbers the encoder cannot write as they are. */
static inline int
check_ranges(const Parts *parts)
{
    if (parts->severity > MAX_SEVERITY || parts->dropped >= UINT32_LIMIT ||
        parts->trace_flags >= UINT32_LIMIT) {
        return -1;
    }
    return 0;
}

/*
 * Write the record's fields into `buf`, its attributes redacted with `r` (NULL: as they
 * are). Returns -1 when the record is outside the fast subset; the caller then discards
 * the buffer.
 */
static int
write_parts(const Parts *parts, const Redaction *r, Buffer *buf)
{
    uint64_t observed = parts->observed;
    /* The fixed-size fields all fit the stack buffer, which is empty here. */
    unsigned char *p = buffer_end(buf);
    if (parts->timestamp && observed) {
        *p++ = RECORD_TIME;
        p = put_fixed64(p, parts->timestamp);
        *p++ = RECORD_OBSERVED_TIME;
        p = put_fixed64(p, observed);
        observed = 0;
    }
    else if (parts->timestamp) {
        *p++ = RECORD_TIME;
        p = put_fixed64(p, parts->timestamp);
    }
    if (parts->severity) {
        *p++ = RECORD_SEVERITY_NUMBER;
        *p++ = (unsigned char)parts->severity;
    }
    buffer_commit(buf, p);
    if (parts->has_severity_text &&
        write_text_field(buf, RECORD_SEVERITY_TEXT, &parts->severity_text) < 0) {
        return -1;
    }
    if (parts->has_body) {
        size_t any_size = field_size(parts->body.size);
        if (buffer_reserve(buf, field_size(any_size)) < 0) {
            return -1;
        }
        p = buffer_end(buf);
        *p++ = RECORD_BODY;
        p = put_varint(p, any_size);
        *p++ = ANY_STRING;
        p = put_varint(p, parts->body.size);
        buffer_commit(buf, put_text(p, &parts->body));
    }

    for (int i = 0; i < parts->n_dicts; i++) {
        Py_ssize_t position = 0;
        PyObject *key, *value;
        while (PyDict_Next(parts->dicts[i], &position, &key, &value)) {
            if (r == NULL) {
                if (write_attribute(buf, key, value) < 0) {
                    return -1;
                }
                continue;
            }
            /* The record's dicts are never changed once queued, so the iteration stays
             * valid while redacted() runs Python code for a decision not cached yet. */
            if (!PyUnicode_CheckExact(key) || PyUnicode_GET_LENGTH(key) == 0) {
                return -1;
            }
            PyObject *clean = redacted(r, key, value);
            if (clean == NULL) {
                return -1;
            }
            int written = write_attribute(buf, key, clean);
            Py_DECREF(clean);
            if (written < 0) {
                return -1;
            }
        }
    }

    /* Dropped count, flags, trace id, span id and the observed time: at most 48 bytes. */
    if (buffer_reserve(buf, 64) < 0) {
        return -1;
    }
    p = buffer_end(buf);
    if (parts->dropped) {
        *p++ = RECORD_DROPPED;
        p = put_varint(p, parts->dropped);
    }
    if (parts->trace_flags & 0xFF) {
        *p++ = RECORD_FLAGS;
        p = put_fixed32(p, (uint32_t)(parts->trace_flags & 0xFF));
    }
    if (parts->trace_id_high || parts->trace_id_low) {
        *p++ = RECORD_TRACE_ID;
        *p++ = 16;
        p = put_big_endian64(p, parts->trace_id_high);
        p = put_big_endian64(p, parts->trace_id_low);
    }
    if (parts->span_id) {
        *p++ = RECORD_SPAN_ID;
        *p++ = 8;
        p = put_big_endian64(p, parts->span_id);
    }
    if (observed) {
        *p++ = RECORD_OBSERVED_TIME;
        p = put_fixed64(p, observed);
    }
    buffer_commit(buf, p);
    if (parts->has_event_name &&
        write_text_field(buf, RECORD_EVENT_NAME, &parts->event_name) < 0) {
        return -1;
    }
    return 0;
}

static inline PyObject *
slot(const State *state, PyObject *record, int field)
{
    return *(PyObject **)((char *)record + state->offsets[field]);
}

/* Read a LogRecord's slots into `parts`; -1 outside the fast subset (an unset slot too). */
static int
read_record(const State *state, PyObject *record, Parts *parts)
{
    PyObject *fields[N_FIELDS];
    parts->owned_body = NULL;
    for (int i = 0; i < N_FIELDS; i++) {
        fields[i] = slot(state, record, i);
        if (fields[i] == NULL) {
            return -1;
        }
    }
    if (as_uint64(fields[F_TIMESTAMP], &parts->timestamp) < 0 ||
        as_uint64(fields[F_OBSERVED_TIMESTAMP], &parts->observed) < 0 ||
        as_uint64(fields[F_SEVERITY_NUMBER], &parts->severity) < 0 ||
        as_uint64(fields[F_DROPPED_ATTRIBUTES_COUNT], &parts->dropped) < 0 ||
        as_uint64(fields[F_TRACE_FLAGS], &parts->trace_flags) < 0 ||
        as_uint64(fields[F_SPAN_ID], &parts->span_id) < 0 ||
        as_uint128(fields[F_TRACE_ID], &parts->trace_id_high, &parts->trace_id_low) < 0 ||
        check_ranges(parts) < 0) {
        return -1;
    }
    if (read_texts(parts, fields[F_SEVERITY_TEXT], fields[F_EVENT_NAME], fields[F_BODY]) < 0) {
        return -1;
    }
    PyObject *attributes = fields[F_ATTRIBUTES];
    if (!PyDict_CheckExact(attributes)) {
        return -1;
    }
    parts->dicts[0] = attributes;
    parts->n_dicts = 1;
    return 0;
}

/* The queued tuple's slots (see fapilog_otel/_raw.py). */
enum {
    RAW_TIME,
    RAW_OBSERVED,
    RAW_SEVERITY_NUMBER,
    RAW_SEVERITY_TEXT,
    RAW_BODY,
    RAW_ATTRS,
    RAW_SCOPE,
    RAW_BOUND,
    RAW_CONTEXT,
    RAW_SPAN,
    RAW_EVENT_NAME,
    RAW_EXC,
    RAW_RESOURCE,
    RAW_SIZE
};

/* Whether any key of `earlier` is also in `later` (an error is reported as a clash). */
static int
keys_clash(PyObject *earlier, PyObject *later)
{
    Py_ssize_t position = 0;
    PyObject *key, *value;
    while (PyDict_Next(earlier, &position, &key, &value)) {
        if (PyDict_Contains(later, key) != 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Read a queued tuple into `parts`, its body redacted with `r`; -1 for a tuple the
 * Python encoder must see: an exception or a resource of its own, attribute dicts whose
 * keys overlap (the merge is left to Python), more than `count_limit` attributes (-1:
 * no limit), or anything outside the fast subset.
 */
static int
read_raw(PyObject *raw, const Redaction *r, Py_ssize_t count_limit, Parts *parts)
{
    parts->owned_body = NULL;
    if (!PyTuple_CheckExact(raw) || PyTuple_GET_SIZE(raw) != RAW_SIZE) {
        return -1;
    }
    PyObject **items = ((PyTupleObject *)raw)->ob_item;
    if (items[RAW_EXC] != Py_None || items[RAW_RESOURCE] != Py_None) {
        return -1;
    }
    PyObject *observed = items[RAW_OBSERVED];
    if (as_uint64(items[RAW_TIME], &parts->timestamp) < 0 ||
        as_uint64(observed == Py_None ? items[RAW_TIME] : observed, &parts->observed) < 0 ||
        as_uint64(items[RAW_SEVERITY_NUMBER], &parts->severity) < 0) {
        return -1;
    }
    parts->dropped = 0;
    PyObject *span = items[RAW_SPAN];
    if (span == Py_None) {
        parts->trace_flags = parts->span_id = parts->trace_id_high = parts->trace_id_low = 0;
    }
    else if (!PyTuple_CheckExact(span) || PyTuple_GET_SIZE(span) != 3 ||
             as_uint128(PyTuple_GET_ITEM(span, 0), &parts->trace_id_high,
                        &parts->trace_id_low) < 0 ||
             as_uint64(PyTuple_GET_ITEM(span, 1), &parts->span_id) < 0 ||
             as_uint64(PyTuple_GET_ITEM(span, 2), &parts->trace_flags) < 0) {
        return -1;
    }
    if (check_ranges(parts) < 0) {
        return -1;
    }
    PyObject *body = items[RAW_BODY];
    if (PyUnicode_CheckExact(body)) {
        /* Owned by parts from here: the cleaned text may be held by a cache only. */
        if ((body = parts->owned_body = clean_text(r, body)) == NULL) {
            return -1;
        }
    }
    if (read_texts(parts, items[RAW_SEVERITY_TEXT], items[RAW_EVENT_NAME], body) < 0) {
        return -1;
    }
    /* Context-bound, then logger-bound, then the call's: the merge order of _raw.py. */
    const int order[MAX_DICTS] = {RAW_CONTEXT, RAW_BOUND, RAW_ATTRS};
    Py_ssize_t count = 0;
    parts->n_dicts = 0;
    for (int i = 0; i < MAX_DICTS; i++) {
        PyObject *dict = items[order[i]];
        if (dict == Py_None) {
            continue;
        }
        if (!PyDict_CheckExact(dict)) {
            return -1;
        }
        if (PyDict_GET_SIZE(dict) == 0) {
            continue;
        }
        for (int j = 0; j < parts->n_dicts; j++) {
            if (keys_clash(parts->dicts[j], dict)) {
                return -1;
            }
        }
        count += PyDict_GET_SIZE(dict);
        parts->dicts[parts->n_dicts++] = dict;
    }
    if (count_limit >= 0 && count > count_limit) {
        return -1;
    }
    return 0;
}

/*
 * The end of both encoders: the bytes written into `buf` when `written`, else (or when
 * they cannot be made) what `fallback` returns for `arg`. Frees the buffer.
 */
static PyObject *
finish(Buffer *buf, int written, PyObject *fallback, PyObject *arg)
{
    if (written) {
        PyObject *encoded =
            PyBytes_FromStringAndSize((const char *)buf->data, (Py_ssize_t)buf->size);
        buffer_free(buf);
        if (encoded != NULL) {
            return encoded;
        }
    }
    else {
        buffer_free(buf);
    }
    PyErr_Clear();
    return PyObject_CallOneArg(fallback, arg);
}

/* ---------------------------------------------------------------------------------- */
/* The module's functions.                                                              */

PyDoc_STRVAR(encode_record_doc,
"encode_record(fallback, record, /)\n"
"--\n"
"\n"
"Return the content of the OTLP/protobuf LogRecord message for ``record``.\n"
"\n"
"The bytes are those of the pure-Python encoder ``fallback``, which is called (and its\n"
"result or exception passed on) for any record this function does not encode itself.");

static PyObject *
encode_record(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "encode_record() takes exactly 2 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *fallback = args[0];
    PyObject *record = args[1];
    const State *state = get_state(module);
    if (state->record_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "encode_record() needs setup() first");
        return NULL;
    }
    if (!Py_IS_TYPE(record, state->record_type)) {
        return PyObject_CallOneArg(fallback, record);
    }
    Parts parts;
    Buffer buf;
    buffer_init(&buf);
    int written =
        read_record(state, record, &parts) == 0 && write_parts(&parts, NULL, &buf) == 0;
    return finish(&buf, written, fallback, record);
}

/* The view's items (see fapilog_otel.otlp._compiled.view). */
enum {
    VIEW_KEY_MASKS,
    VIEW_DECIDE_KEY,
    VIEW_MASKED_VALUE,
    VIEW_CLEAN_TEXTS,
    VIEW_CLEAN_TEXT,
    VIEW_MIN_TEXT_LENGTH,
    VIEW_INT_SCAN_MIN,
    VIEW_VALUE_MASK,
    VIEW_COUNT_LIMIT,
    VIEW_SIZE
};

/*
 * Read the view of a direct plan: None for what is absent (no key redactor: key_masks is
 * None; no value redactor: clean_texts is None; no card check: int_scan_min is None; no
 * count limit: count_limit is None).
 */
static int
read_view(PyObject *view, Redaction *r, Py_ssize_t *count_limit)
{
    if (!PyTuple_CheckExact(view) || PyTuple_GET_SIZE(view) != VIEW_SIZE) {
        PyErr_Format(PyExc_TypeError, "encode_raw() takes a view tuple of %d items",
                     VIEW_SIZE);
        return -1;
    }
    PyObject **items = ((PyTupleObject *)view)->ob_item;
    r->key_masks = items[VIEW_KEY_MASKS] == Py_None ? NULL : items[VIEW_KEY_MASKS];
    r->decide_key = items[VIEW_DECIDE_KEY];
    r->masked_value = items[VIEW_MASKED_VALUE];
    r->clean_texts = items[VIEW_CLEAN_TEXTS] == Py_None ? NULL : items[VIEW_CLEAN_TEXTS];
    r->clean_text = items[VIEW_CLEAN_TEXT];
    r->value_mask = items[VIEW_VALUE_MASK];
    r->scans_ints = items[VIEW_INT_SCAN_MIN] != Py_None;
    if ((r->key_masks != NULL &&
         (!PyDict_CheckExact(r->key_masks) || !PyCallable_Check(r->decide_key) ||
          !PyUnicode_CheckExact(r->masked_value))) ||
        (r->clean_texts != NULL &&
         (!PyDict_CheckExact(r->clean_texts) || !PyCallable_Check(r->clean_text))) ||
        (r->scans_ints && !PyUnicode_CheckExact(r->value_mask))) {
        PyErr_SetString(PyExc_TypeError, "encode_raw(): an invalid view");
        return -1;
    }
    r->min_text_length = PyLong_AsSsize_t(items[VIEW_MIN_TEXT_LENGTH]);
    if (r->min_text_length == -1 && PyErr_Occurred()) {
        return -1;
    }
    r->int_scan_min = 0;
    if (r->scans_ints) {
        r->int_scan_min = PyLong_AsLongLong(items[VIEW_INT_SCAN_MIN]);
        if (r->int_scan_min == -1 && PyErr_Occurred()) {
            return -1;
        }
    }
    *count_limit = -1;
    if (items[VIEW_COUNT_LIMIT] != Py_None) {
        *count_limit = PyLong_AsSsize_t(items[VIEW_COUNT_LIMIT]);
        if (*count_limit == -1 && PyErr_Occurred()) {
            return -1;
        }
    }
    return 0;
}

PyDoc_STRVAR(encode_raw_doc,
"encode_raw(fallback, view, raw, /)\n"
"--\n"
"\n"
"Return the content of the OTLP/protobuf LogRecord message for the queued tuple ``raw``,\n"
"its attributes and body redacted as ``view`` says (see\n"
"fapilog_otel.otlp._compiled.view).\n"
"\n"
"The result is that of the Python encoder ``fallback`` (bytes, or None for a tuple the\n"
"direct path leaves to the ordinary one), which is called for any tuple this function\n"
"does not encode itself.");

static PyObject *
encode_raw(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "encode_raw() takes exactly 3 arguments (%zd given)",
                     nargs);
        return NULL;
    }
    (void)module;
    PyObject *fallback = args[0];
    PyObject *raw = args[2];
    Redaction r;
    Py_ssize_t count_limit;
    if (read_view(args[1], &r, &count_limit) < 0) {
        return NULL;
    }
    Parts parts;
    Buffer buf;
    buffer_init(&buf);
    int written =
        read_raw(raw, &r, count_limit, &parts) == 0 && write_parts(&parts, &r, &buf) == 0;
    Py_XDECREF(parts.owned_body);
    return finish(&buf, written, fallback, raw);
}

PyDoc_STRVAR(setup_doc,
"setup(record_type, /)\n"
"--\n"
"\n"
"Read records of exactly ``record_type`` (the LogRecord class) from their slots.\n"
"\n"
"Raises TypeError when one of the fields the encoder reads is not an object slot.");

static PyObject *
setup(PyObject *module, PyObject *record_type)
{
    if (!PyType_Check(record_type)) {
        PyErr_SetString(PyExc_TypeError, "setup() takes the LogRecord class");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)record_type;
    Py_ssize_t offsets[N_FIELDS];
    for (int i = 0; i < N_FIELDS; i++) {
        PyObject *descriptor = PyObject_GetAttrString(record_type, field_names[i]);
        if (descriptor == NULL) {
            return NULL;
        }
        int is_slot = 0;
        if (Py_IS_TYPE(descriptor, &PyMemberDescr_Type) &&
            PyType_IsSubtype(type, PyDescr_TYPE(descriptor))) {
            PyMemberDef *member = ((PyMemberDescrObject *)descriptor)->d_member;
            offsets[i] = member->offset;
            is_slot = member->type == Py_T_OBJECT_EX &&
                      member->offset >= (Py_ssize_t)sizeof(PyObject) &&
                      member->offset + (Py_ssize_t)sizeof(PyObject *) <= type->tp_basicsize;
        }
        Py_DECREF(descriptor);
        if (!is_slot) {
            PyErr_Format(PyExc_TypeError, "%s.%s is not an object slot", type->tp_name,
                         field_names[i]);
            return NULL;
        }
    }
    State *state = get_state(module);
    Py_INCREF(type);
    Py_XSETREF(state->record_type, type);
    memcpy(state->offsets, offsets, sizeof offsets);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"encode_record", (PyCFunction)(void (*)(void))encode_record, METH_FASTCALL,
     encode_record_doc},
    {"encode_raw", (PyCFunction)(void (*)(void))encode_raw, METH_FASTCALL, encode_raw_doc},
    {"setup", setup, METH_O, setup_doc},
    {NULL, NULL, 0, NULL},
};

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    State *state = get_state(module);
    if (state != NULL) {
        Py_VISIT(state->record_type);
    }
    return 0;
}

static int
module_clear(PyObject *module)
{
    State *state = get_state(module);
    if (state != NULL) {
        Py_CLEAR(state->record_type);
    }
    return 0;
}

static void
module_free(void *module)
{
    module_clear((PyObject *)module);
}

static PyModuleDef_Slot module_slots[] = {
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

PyDoc_STRVAR(module_doc,
"The compiled OTLP/protobuf LogRecord encoder; see fapilog_otel.otlp._compiled.");

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "fapilog_otel.otlp._cencode",
    .m_doc = module_doc,
    .m_size = sizeof(State),
    .m_methods = methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC
PyInit__cencode(void)
{
    return PyModuleDef_Init(&module_def);
}
