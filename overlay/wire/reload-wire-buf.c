/* reload-wire-buf.c: bounds-checked reader and length-patching writer. */
#define G_LOG_DOMAIN "disco-wire"

#include "reload-wire-private.h"

#include <string.h>

G_DEFINE_QUARK (disco - reload - wire - error - quark, disco_reload_wire_error)

gboolean
disco_wire_fail (GError **error, DiscoReloadWireError code, const char *fmt, ...)
{
  va_list ap;

  if (error != NULL && *error == NULL)
    {
      va_start (ap, fmt);
      *error = g_error_new_valist (DISCO_RELOAD_WIRE_ERROR, code, fmt, ap);
      va_end (ap);
    }
  return FALSE;
}

guint16
disco_reload_wire_error_to_rfc (const GError *error)
{
  if (error == NULL || error->domain != DISCO_RELOAD_WIRE_ERROR)
    return 0;
  switch (error->code)
    {
      case DISCO_RELOAD_WIRE_ERROR_BAD_TOKEN:
      case DISCO_RELOAD_WIRE_ERROR_BAD_VERSION:
      case DISCO_RELOAD_WIRE_ERROR_BAD_FRAGMENT:
      case DISCO_RELOAD_WIRE_ERROR_FRAGMENTED:
      case DISCO_RELOAD_WIRE_ERROR_ENCODE:
        return 0;
      case DISCO_RELOAD_WIRE_ERROR_TRUNCATED:
      case DISCO_RELOAD_WIRE_ERROR_BAD_LENGTH:
      case DISCO_RELOAD_WIRE_ERROR_REASSEMBLY:
        return DISCO_RELOAD_ERROR_INVALID_MESSAGE;
      default:
        return error->code < 0x100 ? (guint16)error->code : 0;
    }
}

void
disco_wire_reader_init (DiscoWireReader *r, const guint8 *data, gsize len, GBytes *owner)
{
  r->data = data;
  r->len = len;
  r->pos = 0;
  r->owner = owner;
  r->options = NULL;
}

static gboolean
need (DiscoWireReader *r, gsize n, const char *what, GError **error)
{
  if (r->len - r->pos < n)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_TRUNCATED,
                            "%s: need %" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " left", what, n,
                            r->len - r->pos);
  return TRUE;
}

gboolean
disco_wire_read_u8 (DiscoWireReader *r, guint8 *v, const char *what, GError **error)
{
  if (!need (r, 1, what, error))
    return FALSE;
  *v = r->data[r->pos++];
  return TRUE;
}

gboolean
disco_wire_read_u16 (DiscoWireReader *r, guint16 *v, const char *what, GError **error)
{
  const guint8 *p;

  if (!need (r, 2, what, error))
    return FALSE;
  p = r->data + r->pos;
  *v = (guint16)((p[0] << 8) | p[1]);
  r->pos += 2;
  return TRUE;
}

gboolean
disco_wire_read_u24 (DiscoWireReader *r, guint32 *v, const char *what, GError **error)
{
  const guint8 *p;

  if (!need (r, 3, what, error))
    return FALSE;
  p = r->data + r->pos;
  *v = ((guint32)p[0] << 16) | ((guint32)p[1] << 8) | p[2];
  r->pos += 3;
  return TRUE;
}

gboolean
disco_wire_read_u32 (DiscoWireReader *r, guint32 *v, const char *what, GError **error)
{
  const guint8 *p;

  if (!need (r, 4, what, error))
    return FALSE;
  p = r->data + r->pos;
  *v = ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
  r->pos += 4;
  return TRUE;
}

gboolean
disco_wire_read_u64 (DiscoWireReader *r, guint64 *v, const char *what, GError **error)
{
  guint32 hi, lo;

  if (!need (r, 8, what, error))
    return FALSE;
  disco_wire_read_u32 (r, &hi, what, NULL);
  disco_wire_read_u32 (r, &lo, what, NULL);
  *v = ((guint64)hi << 32) | lo;
  return TRUE;
}

gboolean
disco_wire_read_bool (DiscoWireReader *r, gboolean *v, const char *what, GError **error)
{
  guint8 b;

  if (!disco_wire_read_u8 (r, &b, what, error))
    return FALSE;
  /* Only 0 and 1 are Booleans; anything else would not re-encode to the same
   * bytes and so would break signature checks downstream. */
  if (b > 1)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                            "%s: Boolean value %u is not 0 or 1", what, b);
  *v = b;
  return TRUE;
}

gboolean
disco_wire_read_fixed (DiscoWireReader *r, gsize n, const guint8 **p, const char *what,
                       GError **error)
{
  if (!need (r, n, what, error))
    return FALSE;
  *p = r->data + r->pos;
  r->pos += n;
  return TRUE;
}

static gboolean
read_len (DiscoWireReader *r, guint width, guint32 *n, const char *what, GError **error)
{
  guint8 u8;
  guint16 u16;

  switch (width)
    {
      case 1:
        if (!disco_wire_read_u8 (r, &u8, what, error))
          return FALSE;
        *n = u8;
        return TRUE;
      case 2:
        if (!disco_wire_read_u16 (r, &u16, what, error))
          return FALSE;
        *n = u16;
        return TRUE;
      case 3:
        return disco_wire_read_u24 (r, n, what, error);
      case 4:
        return disco_wire_read_u32 (r, n, what, error);
      default:
        g_assert_not_reached ();
    }
}

gboolean
disco_wire_read_sub (DiscoWireReader *r, guint width, DiscoWireReader *sub, const char *what,
                     GError **error)
{
  guint32 n;

  if (!read_len (r, width, &n, what, error))
    return FALSE;
  if (r->len - r->pos < n)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_TRUNCATED,
                            "%s: length %u exceeds the %" G_GSIZE_FORMAT " bytes left", what, n,
                            r->len - r->pos);
  sub->data = r->data + r->pos;
  sub->len = n;
  sub->pos = 0;
  sub->owner = r->owner;
  sub->options = r->options;
  r->pos += n;
  return TRUE;
}

GBytes *
disco_wire_reader_slice (DiscoWireReader *r, gsize start, gsize n)
{
  const guint8 *p = r->data + start;

  if (r->owner != NULL)
    {
      gsize olen;
      const guint8 *base = g_bytes_get_data (r->owner, &olen);

      if (p >= base && (gsize)(p - base) + n <= olen)
        return g_bytes_new_from_bytes (r->owner, (gsize)(p - base), n);
    }
  return g_bytes_new (p, n);
}

gboolean
disco_wire_read_opaque (DiscoWireReader *r, guint width, GBytes **out, const char *what,
                        GError **error)
{
  DiscoWireReader sub;

  if (!disco_wire_read_sub (r, width, &sub, what, error))
    return FALSE;
  *out = disco_wire_reader_slice (&sub, 0, sub.len);
  return TRUE;
}

gboolean
disco_wire_read_string8 (DiscoWireReader *r, gchar **out, const char *what, GError **error)
{
  DiscoWireReader sub;

  if (!disco_wire_read_sub (r, 1, &sub, what, error))
    return FALSE;
  if (memchr (sub.data, 0, sub.len) != NULL)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE, "%s: embedded NUL byte",
                            what);
  *out = g_strndup ((const gchar *)sub.data, sub.len);
  return TRUE;
}

gboolean
disco_wire_reader_done (DiscoWireReader *r, const char *what, GError **error)
{
  if (r->pos != r->len)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_BAD_LENGTH,
                            "%s: %" G_GSIZE_FORMAT " unexpected trailing bytes", what,
                            r->len - r->pos);
  return TRUE;
}

void
disco_wire_put_u8 (GByteArray *out, guint8 v)
{
  g_byte_array_append (out, &v, 1);
}

void
disco_wire_put_u16 (GByteArray *out, guint16 v)
{
  guint8 b[2] = { (guint8)(v >> 8), (guint8)v };

  g_byte_array_append (out, b, 2);
}

void
disco_wire_put_u24 (GByteArray *out, guint32 v)
{
  guint8 b[3] = { (guint8)(v >> 16), (guint8)(v >> 8), (guint8)v };

  g_byte_array_append (out, b, 3);
}

void
disco_wire_put_u32 (GByteArray *out, guint32 v)
{
  guint8 b[4] = { (guint8)(v >> 24), (guint8)(v >> 16), (guint8)(v >> 8), (guint8)v };

  g_byte_array_append (out, b, 4);
}

void
disco_wire_put_u64 (GByteArray *out, guint64 v)
{
  disco_wire_put_u32 (out, (guint32)(v >> 32));
  disco_wire_put_u32 (out, (guint32)v);
}

void
disco_wire_put_bytes (GByteArray *out, const guint8 *p, gsize n)
{
  if (n > 0)
    g_byte_array_append (out, p, (guint)n);
}

gsize
disco_wire_begin_len (GByteArray *out, guint width)
{
  gsize pos = out->len;

  g_byte_array_set_size (out, out->len + width);
  return pos;
}

gboolean
disco_wire_end_len (GByteArray *out, gsize pos, guint width, const char *what, GError **error)
{
  gsize n = out->len - pos - width;
  guint8 *p = out->data + pos;

  if (width < 4 && n >= ((gsize)1 << (8 * width)))
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE,
                            "%s: %" G_GSIZE_FORMAT " bytes do not fit a %u-byte length", what, n,
                            width);
  if (n > G_MAXUINT32)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE, "%s: too long", what);
  for (guint i = 0; i < width; i++)
    p[i] = (guint8)(n >> (8 * (width - 1 - i)));
  return TRUE;
}

gboolean
disco_wire_put_opaque (GByteArray *out, guint width, const guint8 *p, gsize n, const char *what,
                       GError **error)
{
  gsize pos = disco_wire_begin_len (out, width);

  disco_wire_put_bytes (out, p, n);
  return disco_wire_end_len (out, pos, width, what, error);
}

gboolean
disco_wire_put_opaque_bytes (GByteArray *out, guint width, GBytes *b, const char *what,
                             GError **error)
{
  gsize n = 0;
  const guint8 *p = b != NULL ? g_bytes_get_data (b, &n) : NULL;

  return disco_wire_put_opaque (out, width, p, n, what, error);
}

gboolean
disco_wire_put_string8 (GByteArray *out, const gchar *s, const char *what, GError **error)
{
  return disco_wire_put_opaque (out, 1, (const guint8 *)s, s != NULL ? strlen (s) : 0, what, error);
}
