// Checkpoints in the safetensors format: the atomic writer, the strict header parser and validated
// loader, and the grl_tensor_map handle that holds what a load produced.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "capi/api.h"

using namespace grl;

struct grl_tensor_map_s {
  std::vector<std::string> names;  // header order
  std::vector<TensorRef> tensors;
  std::unordered_map<std::string, size_t> index;
};

namespace {

// The reference implementation's limit; a larger header is a hostile or corrupt file.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// Shape::numel and contiguous_strides multiply in int64; grl_tensor_* refuses more than this too.
constexpr uint64_t kMaxElements = uint64_t{1} << 40;

struct FileDtype {
  const char* name;
  grl_dtype dtype;
};
// BOOL is stored one byte per element (0 or 1), which is grilly's U8 mask.
constexpr FileDtype kDtypes[] = {{"F32", GRL_F32}, {"F16", GRL_F16}, {"BF16", GRL_BF16}, {"I32", GRL_I32},
                                 {"I64", GRL_I64}, {"U8", GRL_U8},   {"BOOL", GRL_U8}};
// Valid in the format but with no grilly dtype: reported as unsupported rather than unknown.
constexpr const char* kOtherDtypes[] = {"F64", "I8", "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2",
                                        "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"};

const char* file_dtype_name(grl_dtype dt) {
  for (const auto& d : kDtypes)
    if (d.dtype == dt) return d.name;  // U8 comes before BOOL
  return nullptr;
}

std::string errno_text(int e) {
  char buf[256];
  // GNU strerror_r returns the message (maybe not in buf); the XSI one returns int. Accept either.
  auto pick = [&](auto r) -> std::string {
    if constexpr (std::is_same_v<decltype(r), int>)
      return buf;
    else
      return r;
  };
  buf[0] = '\0';
  return pick(strerror_r(e, buf, sizeof buf));
}

// Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629), or 0 when there is none.
size_t utf8_len(const unsigned char* s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp, min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool valid_utf8(std::string_view s) {
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    size_t l = utf8_len(p + i, s.size() - i);
    if (!l) return false;
    i += l;
  }
  return true;
}

// A name for an error message: quoted, control bytes and invalid UTF-8 escaped, long names cut.
std::string show(std::string_view s) {
  std::string out = "'";
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  while (i < s.size() && i < 80) {
    size_t l = utf8_len(p + i, s.size() - i);
    if (l == 0 || p[i] < 0x20 || p[i] == 0x7F) {
      out += format("\\x%02x", p[i]);
      ++i;
    } else {
      out.append(s.substr(i, l));
      i += l;
    }
  }
  if (i < s.size()) out += "...";
  return out + "'";
}

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += format("\\u%04x", c);
    } else {
      out += ch;
    }
  }
  out += '"';
}

// The file stores little-endian elements; grilly's host copies are in native order.
void swap_to_little_endian(unsigned char* p, size_t bytes, size_t elsize) {
  if constexpr (std::endian::native == std::endian::big) {
    for (size_t i = 0; i + elsize <= bytes; i += elsize) std::reverse(p + i, p + i + elsize);
  }
}

// ---- saving -----------------------------------------------------------------------------------

// The output file while it is being written: a uniquely named temporary next to the target (so
// that rename() stays within one file system), removed unless commit() renamed it into place.
class AtomicFile {
 public:
  AtomicFile(const char* fn, std::string target) : fn_(fn), target_(std::move(target)) {
    std::random_device rd;
    for (int attempt = 0;; ++attempt) {
      uint64_t r = uint64_t{rd()} << 32 | rd();
      tmp_ = target_ + format(".tmp-%ld-%016llx", static_cast<long>(getpid()), static_cast<unsigned long long>(r));
      int fd = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) {
        // Replacing a file keeps its permissions (a private checkpoint stays private).
        struct stat st {};
        if (::stat(target_.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::fchmod(fd, st.st_mode & 07777) != 0) {
          int e = errno;
          ::close(fd);
          ::unlink(tmp_.c_str());
          io_fail("cannot set the permissions of the temporary file", e);
        }
        file_ = ::fdopen(fd, "wb");
        if (!file_) {
          int e = errno;
          ::close(fd);
          ::unlink(tmp_.c_str());
          io_fail("cannot open the temporary file", e);
        }
        return;
      }
      if (errno != EEXIST || attempt == 16) io_fail("cannot create the temporary file", errno);
    }
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() {
    if (file_) std::fclose(file_);
    if (!renamed_) ::unlink(tmp_.c_str());
  }

  void write(const void* data, size_t bytes) {
    if (bytes && std::fwrite(data, 1, bytes, file_) != bytes) io_fail("cannot write the temporary file", errno);
  }

  void commit() {
    if (std::fflush(file_) != 0) io_fail("cannot write the temporary file", errno);
    if (::fsync(::fileno(file_)) != 0) io_fail("cannot sync the temporary file", errno);
    int closed = std::fclose(file_);
    file_ = nullptr;
    if (closed != 0) io_fail("cannot close the temporary file", errno);
    if (::rename(tmp_.c_str(), target_.c_str()) != 0) io_fail("cannot rename the temporary file over it", errno);
    renamed_ = true;
    // The rename is durable only once the directory entry is: sync the directory as well. File
    // systems that cannot sync a directory say EINVAL; there is nothing more to do on them.
    std::string dir = std::filesystem::path(target_).parent_path().string();
    if (dir.empty()) dir = ".";
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int synced = fd >= 0 ? ::fsync(fd) : -1, e = errno;
    if (fd >= 0) ::close(fd);
    if (synced != 0 && e != EINVAL)
      fail(GRL_ERROR_IO, "%s: saved '%s', but syncing its directory '%s' failed (%s), so the new file may not "
           "survive a crash", fn_, target_.c_str(), dir.c_str(), errno_text(e).c_str());
  }

 private:
  [[noreturn]] void io_fail(const char* what, int e) {
    fail(GRL_ERROR_IO, "%s: cannot save '%s': %s '%s': %s", fn_, target_.c_str(), what, tmp_.c_str(),
         errno_text(e).c_str());
  }

  const char* fn_;
  std::string target_;
  std::string tmp_;
  std::FILE* file_ = nullptr;
  bool renamed_ = false;
};

// ---- loading ----------------------------------------------------------------------------------

struct Entry {
  std::string name;
  grl_dtype dtype = GRL_F32;
  Shape shape;
  uint64_t begin = 0, end = 0;  // relative to the data buffer
};

// A strict reader of the header's JSON subset (objects, arrays, strings, integers), driven by the
// format's schema: each position knows which type it expects, so the nesting depth is fixed at
// three (header object, entry object, shape array) and any deeper value is rejected where it
// starts. Entries are validated against the data buffer as they are read.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const char* fn, const std::string& path, uint64_t buffer_bytes)
      : s_(text), fn_(fn), path_(path), buffer_bytes_(buffer_bytes) {}

  std::vector<Entry> parse() {
    std::vector<Entry> entries;
    ws();
    if (peek() == '[') bad("the header is a JSON array; expected a JSON object mapping tensor names to entries");
    if (peek() != '{') syntax("expected '{' at the start of the header, found " + found());
    std::unordered_set<std::string> keys;
    object([&](std::string key) {
      if (!keys.insert(key).second) bad("duplicate key " + show(key));
      if (key == "__metadata__") {
        metadata();
      } else {
        entries.push_back(entry(std::move(key)));
        if (entries.size() > static_cast<size_t>(INT32_MAX)) bad("more than 2^31 - 1 tensors");
      }
    });
    ws();
    if (p_ != s_.size()) syntax("unexpected data after the end of the header object: " + found());
    return entries;
  }

 private:
  int peek(size_t ahead = 0) const {
    return p_ + ahead < s_.size() ? static_cast<unsigned char>(s_[p_ + ahead]) : -1;
  }
  static bool digit(int c) { return c >= '0' && c <= '9'; }
  void ws() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r') ++p_;
  }

  std::string found() const {
    int c = peek();
    if (c < 0) return "the end of the header";
    if (c == '"') return "a string";
    if (c == '{') return "an object";
    if (c == '[') return "an array";
    if (c == '-' || digit(c)) return "a number";
    if (c == 't' || c == 'f' || c == 'n') {
      for (const char* lit : {"true", "false", "null"})
        if (s_.substr(p_).starts_with(lit))
          return format("'%s' (only objects, arrays, strings and integers are allowed)", lit);
    }
    if (c >= 0x20 && c < 0x7F) return format("'%c'", c);
    return format("byte 0x%02x", c);
  }

  std::string where() const { return context_.empty() ? "" : "tensor " + show(context_) + ": "; }
  [[noreturn]] void bad(const std::string& what) const {
    fail(GRL_ERROR_IO, "%s: '%s' is not a valid safetensors file: %s%s", fn_, path_.c_str(), where().c_str(),
         what.c_str());
  }
  [[noreturn]] void syntax(const std::string& what) const {
    fail(GRL_ERROR_IO, "%s: '%s' is not a valid safetensors file: %sinvalid header JSON at byte %zu: %s", fn_,
         path_.c_str(), where().c_str(), p_, what.c_str());
  }

  // {"key": value, ...}; member(key) reads the value. Expects to be at '{'.
  template <typename F>
  void object(F&& member) {
    ++p_;
    ws();
    if (peek() == '}') {
      ++p_;
      return;
    }
    for (;;) {
      ws();
      if (peek() != '"') syntax("expected a string key, found " + found());
      std::string key = string();
      ws();
      if (peek() != ':') syntax("expected ':' after the key " + show(key) + ", found " + found());
      ++p_;
      ws();
      member(std::move(key));
      ws();
      if (peek() == ',') {
        ++p_;
        continue;
      }
      if (peek() == '}') {
        ++p_;
        return;
      }
      syntax("expected ',' or '}' after a value, found " + found());
    }
  }

  // [value, ...]; item() reads each value. Expects to be at '['.
  template <typename F>
  void array(F&& item) {
    ++p_;
    ws();
    if (peek() == ']') {
      ++p_;
      return;
    }
    for (;;) {
      ws();
      item();
      ws();
      if (peek() == ',') {
        ++p_;
        continue;
      }
      if (peek() == ']') {
        ++p_;
        return;
      }
      syntax("expected ',' or ']' after a value, found " + found());
    }
  }

  unsigned hex4() {
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      int c = peek();
      int d = digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) syntax("expected four hex digits after \\u, found " + found());
      v = v << 4 | static_cast<unsigned>(d);
      ++p_;
    }
    return v;
  }

  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | cp >> 6);
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | cp >> 12);
      out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | cp >> 18);
      out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
      out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Expects to be at '"'.
  std::string string() {
    ++p_;
    std::string out;
    for (;;) {
      int c = peek();
      if (c < 0) syntax("unterminated string");
      if (c == '"') {
        ++p_;
        return out;
      }
      if (c < 0x20) syntax(format("control character 0x%02x inside a string (it must be escaped)", c));
      if (c == '\\') {
        ++p_;
        int e = peek();
        const char* simple = "\"\\/bfnrt";
        const char* as = "\"\\/\b\f\n\r\t";
        const char* hit = e > 0 ? std::strchr(simple, e) : nullptr;
        if (hit) {
          out += as[hit - simple];
          ++p_;
          continue;
        }
        if (e != 'u') syntax("invalid escape sequence in a string: \\" + found());
        ++p_;
        uint32_t cp = hex4();
        if (cp >= 0xDC00 && cp <= 0xDFFF) syntax("unpaired low surrogate in a \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (peek() != '\\' || peek(1) != 'u') syntax("a high surrogate \\u escape must be followed by a low one");
          p_ += 2;
          uint32_t lo = hex4();
          if (lo < 0xDC00 || lo > 0xDFFF) syntax("a high surrogate \\u escape must be followed by a low one");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        put_utf8(out, cp);
        continue;
      }
      size_t len = utf8_len(reinterpret_cast<const unsigned char*>(s_.data()) + p_, s_.size() - p_);
      if (!len) syntax("invalid UTF-8 inside a string");
      out.append(s_.substr(p_, len));
      p_ += len;
    }
  }

  // A JSON integer that fits int64 (fractions, exponents and leading zeros are rejected).
  int64_t integer(const char* what) {
    int c = peek();
    if (c != '-' && !digit(c)) bad(format("%s must hold integers, found ", what) + found());
    size_t start = p_;
    bool negative = c == '-';
    if (negative) ++p_;
    if (!digit(peek())) syntax("expected a digit after '-', found " + found());
    if (peek() == '0' && digit(peek(1))) syntax("leading zeros are not allowed in numbers");
    uint64_t v = 0;
    bool overflow = false;
    while (digit(peek())) {
      overflow |= __builtin_mul_overflow(v, 10u, &v);
      overflow |= __builtin_add_overflow(v, static_cast<uint64_t>(peek() - '0'), &v);
      ++p_;
    }
    std::string_view text = s_.substr(start, p_ - start);
    if (peek() == '.' || peek() == 'e' || peek() == 'E')
      bad(format("%s must hold integers, found a number with a fraction or exponent", what));
    if (overflow || v > static_cast<uint64_t>(INT64_MAX))
      bad(format("%s: the number %s does not fit in 64 bits", what, show(text).c_str()));
    return negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  }

  void metadata() {
    if (peek() != '{') bad("\"__metadata__\" must be an object of strings, found " + found());
    std::unordered_set<std::string> keys;
    object([&](std::string key) {
      if (!keys.insert(key).second) bad("duplicate key " + show(key) + " in \"__metadata__\"");
      if (peek() != '"') bad("\"__metadata__\" value " + show(key) + " must be a string, found " + found());
      string();
    });
  }

  Entry entry(std::string name) {
    context_ = name;
    if (name.find('\0') != std::string::npos) bad("the name contains a NUL character, which C strings cannot hold");
    if (peek() != '{') bad("expected an object with dtype, shape and data_offsets, found " + found());
    Entry e;
    e.name = std::move(name);
    bool has_dtype = false, has_shape = false, has_offsets = false;
    std::string dtype;
    int64_t offsets[2] = {0, 0};
    int n_offsets = 0;
    int64_t dims[GRL_MAX_DIMS] = {};
    object([&](std::string key) {
      auto once = [&](bool& seen) {
        if (seen) bad("duplicate field \"" + key + "\"");
        seen = true;
      };
      if (key == "dtype") {
        once(has_dtype);
        if (peek() != '"') bad("\"dtype\" must be a string, found " + found());
        dtype = string();
      } else if (key == "shape") {
        once(has_shape);
        if (peek() != '[') bad("\"shape\" must be an array of integers, found " + found());
        array([&] {
          if (e.shape.ndim == GRL_MAX_DIMS)
            bad(format("\"shape\" has more than %d dims (grilly's limit)", GRL_MAX_DIMS));
          dims[e.shape.ndim++] = integer("\"shape\"");
        });
      } else if (key == "data_offsets") {
        once(has_offsets);
        if (peek() != '[') bad("\"data_offsets\" must be an array of two integers, found " + found());
        array([&] {
          if (n_offsets == 2) bad("\"data_offsets\" has more than two entries");
          offsets[n_offsets++] = integer("\"data_offsets\"");
        });
      } else {
        bad("unexpected field " + show(key) + " (an entry has exactly dtype, shape and data_offsets)");
      }
    });
    if (!has_dtype) bad("missing field \"dtype\"");
    if (!has_shape) bad("missing field \"shape\"");
    if (!has_offsets) bad("missing field \"data_offsets\"");
    check(e, dtype, dims, offsets, n_offsets);
    context_.clear();
    return e;
  }

  void check(Entry& e, const std::string& dtype, const int64_t* dims, const int64_t* offsets, int n_offsets) {
    const FileDtype* fd = nullptr;
    for (const auto& d : kDtypes)
      if (dtype == d.name) fd = &d;
    if (!fd) {
      bool known = std::any_of(std::begin(kOtherDtypes), std::end(kOtherDtypes),
                               [&](const char* d) { return dtype == d; });
      if (known)
        bad("dtype " + show(dtype) + " is not supported by grilly (it reads F32, F16, BF16, I32, I64, U8, BOOL)");
      bad("unknown dtype " + show(dtype) + " (expected F32, F16, BF16, I32, I64, U8 or BOOL)");
    }
    e.dtype = fd->dtype;
    uint64_t bound = 1, numel = 1;
    for (int i = 0; i < e.shape.ndim; ++i) {
      if (dims[i] < 0) bad(format("\"shape\" entry %lld is negative", static_cast<long long>(dims[i])));
      e.shape[i] = dims[i];
    }
    std::string shape_text = e.shape.str();
    for (int i = 0; i < e.shape.ndim; ++i) {
      auto d = static_cast<uint64_t>(dims[i]);
      // Bound the product with zero dims counted as one, because strides are computed that way.
      if (__builtin_mul_overflow(bound, std::max<uint64_t>(d, 1), &bound) || bound > kMaxElements)
        bad("shape " + shape_text + " has more than 2^40 elements (grilly's limit; the product overflows)");
      numel *= d;
    }
    if (n_offsets != 2) bad(format("\"data_offsets\" has %d entries; expected [begin, end]", n_offsets));
    int64_t begin = offsets[0], end = offsets[1];
    std::string off_text =
        format("data_offsets [%lld, %lld]", static_cast<long long>(begin), static_cast<long long>(end));
    if (begin < 0 || end < 0) bad(off_text + " are negative");
    if (begin > end) bad(off_text + " are reversed (begin > end)");
    e.begin = static_cast<uint64_t>(begin);
    e.end = static_cast<uint64_t>(end);
    if (e.end > buffer_bytes_)
      bad(format("%s run past the end of the data buffer (%llu bytes; truncated file?)", off_text.c_str(),
                 static_cast<unsigned long long>(buffer_bytes_)));
    uint64_t need = numel * dtype_size(e.dtype);
    if (need != e.end - e.begin)
      bad(format("shape %s of %s needs %llu bytes but %s span %llu", shape_text.c_str(), fd->name,
                 static_cast<unsigned long long>(need), off_text.c_str(),
                 static_cast<unsigned long long>(e.end - e.begin)));
  }

  std::string_view s_;
  size_t p_ = 0;
  const char* fn_;
  const std::string& path_;
  uint64_t buffer_bytes_;
  std::string context_;  // the tensor being read, for messages
};

class InputFile {
 public:
  InputFile(const char* fn, std::string path) : fn_(fn), path_(std::move(path)) {
    // O_NONBLOCK: a FIFO must not block the open (it is then rejected as not a regular file).
    fd_.fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_.fd < 0) io_fail("cannot open it", errno);
    struct stat st {};
    if (::fstat(fd_.fd, &st) != 0) io_fail("cannot stat it", errno);
    if (!S_ISREG(st.st_mode)) fail(GRL_ERROR_IO, "%s: cannot load '%s': not a regular file", fn_, path_.c_str());
    size_ = static_cast<uint64_t>(st.st_size);
  }
  uint64_t size() const { return size_; }

  // Callers check offset + bytes <= size() first; a shorter read means the file shrank meanwhile.
  void read(uint64_t offset, void* dst, size_t bytes) {
    auto* p = static_cast<unsigned char*>(dst);
    while (bytes) {
      ssize_t n = ::pread(fd_.fd, p, std::min<size_t>(bytes, size_t{1} << 30), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) io_fail("cannot read it", errno);
      if (n == 0)
        fail(GRL_ERROR_IO, "%s: cannot load '%s': the file ended at byte %llu (did it shrink while loading?)", fn_,
             path_.c_str(), static_cast<unsigned long long>(offset));
      p += n, offset += static_cast<uint64_t>(n), bytes -= static_cast<size_t>(n);
    }
  }

 private:
  [[noreturn]] void io_fail(const char* what, int e) {
    fail(GRL_ERROR_IO, "%s: cannot load '%s': %s: %s", fn_, path_.c_str(), what, errno_text(e).c_str());
  }

  // A member, so that the descriptor is closed when the constructor throws too.
  struct Fd {
    int fd = -1;
    Fd() = default;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
      if (fd >= 0) ::close(fd);
    }
  };

  const char* fn_;
  std::string path_;
  Fd fd_;
  uint64_t size_ = 0;
};

grl_tensor_map_s& arg_map(const char* fn, grl_tensor_map m) {
  if (!m) fail(GRL_ERROR_NULL_ARGUMENT, "%s: argument 'map' is NULL (expected a grl_tensor_map)", fn);
  return *m;
}

}  // namespace

extern "C" {

GRL_API grl_status grl_save_safetensors(const char* path, const char* const* names, const grl_tensor* tensors,
                                        int32_t count) {
  GRL_API_BEGIN();
  arg_not_null(__func__, "path", path);
  if (!*path) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'path' is empty; expected a file name", __func__);
  if (count < 0) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'count' is %d; expected >= 0", __func__, count);
  if (count > 0) {
    arg_not_null(__func__, "names", names);
    arg_not_null(__func__, "tensors", tensors);
  }
  std::unordered_set<std::string_view> seen;
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  uint64_t offset = 0;
  size_t largest = 0;
  for (int32_t i = 0; i < count; ++i) {
    if (!names[i]) fail(GRL_ERROR_NULL_ARGUMENT, "%s: names[%d] is NULL", __func__, i);
    if (!tensors[i]) fail(GRL_ERROR_NULL_ARGUMENT, "%s: tensors[%d] (%s) is NULL", __func__, i, show(names[i]).c_str());
    std::string_view name = names[i];
    if (!seen.insert(name).second)
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: names[%d] = %s appears twice; tensor names must be unique", __func__, i,
           show(name).c_str());
    if (name == "__metadata__")
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: names[%d] is \"__metadata__\", which the format reserves", __func__, i);
    if (!valid_utf8(name))
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: names[%d] = %s is not valid UTF-8 (JSON keys must be)", __func__, i,
           show(name).c_str());
    const Tensor& t = *tensors[i];
    size_t bytes = static_cast<size_t>(t.numel()) * t.elsize();
    largest = std::max(largest, bytes);
    header += ',';
    json_string(header, name);
    header += format(":{\"dtype\":\"%s\",\"shape\":[", file_dtype_name(t.dtype));
    for (int d = 0; d < t.shape.ndim; ++d) {
      if (d) header += ',';
      header += std::to_string(t.shape[d]);
    }
    header += format("],\"data_offsets\":[%llu,%llu]}", static_cast<unsigned long long>(offset),
                     static_cast<unsigned long long>(offset + bytes));
    offset += bytes;
  }
  header += '}';
  // Padding keeps the data buffer 8-byte aligned in the file (so mmap readers can use it in place).
  header.append((8 - header.size() % 8) % 8, ' ');
  unsigned char len[8];
  for (int b = 0; b < 8; ++b) len[b] = static_cast<unsigned char>(static_cast<uint64_t>(header.size()) >> (8 * b));

  AtomicFile file(__func__, path);
  file.write(len, sizeof len);
  file.write(header.data(), header.size());
  auto buf = std::make_unique_for_overwrite<unsigned char[]>(largest);
  for (int32_t i = 0; i < count; ++i) {
    Tensor& t = *tensors[i];
    size_t bytes = static_cast<size_t>(t.numel()) * t.elsize();
    if (!bytes) continue;
    {
      DeviceLock lock(t.dev().mutex());
      TensorRef c = contiguous(t);
      c->dev().download(c->block(), static_cast<size_t>(c->offset) * c->elsize(), buf.get(), bytes);
      t.dev().synchronize();  // reports errors found on the device by the kernels that produced it
    }
    swap_to_little_endian(buf.get(), bytes, t.elsize());
    file.write(buf.get(), bytes);
  }
  file.commit();
  GRL_API_END();
}

GRL_API grl_status grl_load_safetensors(grl_device device, const char* path, grl_tensor_map* out) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  arg_not_null(__func__, "path", path);
  GRL_CHECK_OUT(out);
  InputFile file(__func__, path);
  const uint64_t size = file.size();
  if (size < 8)
    fail(GRL_ERROR_IO, "%s: '%s' is not a valid safetensors file: it is %llu bytes long, too short for the 8-byte "
         "header length (truncated file?)", __func__, path, static_cast<unsigned long long>(size));
  unsigned char len[8];
  file.read(0, len, sizeof len);
  uint64_t n = 0;
  for (int b = 7; b >= 0; --b) n = n << 8 | len[b];
  if (n < 2)
    fail(GRL_ERROR_IO, "%s: '%s' is not a valid safetensors file: header length %llu is too small (the header is a "
         "JSON object, at least \"{}\")", __func__, path, static_cast<unsigned long long>(n));
  if (n > kMaxHeaderBytes)
    fail(GRL_ERROR_IO, "%s: '%s' is not a valid safetensors file: header length %llu exceeds the 100 MB limit",
         __func__, path, static_cast<unsigned long long>(n));
  if (n > size - 8)
    fail(GRL_ERROR_IO, "%s: '%s' is not a valid safetensors file: header length %llu exceeds the %llu bytes that "
         "follow it (truncated file?)", __func__, path, static_cast<unsigned long long>(n),
         static_cast<unsigned long long>(size - 8));
  std::string header(static_cast<size_t>(n), '\0');
  file.read(8, header.data(), header.size());
  const uint64_t data_start = 8 + n;
  const std::string file_name = path;
  std::vector<Entry> entries = HeaderParser(header, __func__, file_name, size - data_start).parse();

  // No byte of the buffer may belong to two tensors (empty tensors occupy none).
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Entry &x = entries[a], &y = entries[b];
    return x.begin != y.begin ? x.begin < y.begin : x.end != y.end ? x.end < y.end : a < b;
  });
  const Entry* prev = nullptr;
  size_t largest = 0;
  for (size_t i : order) {
    const Entry& e = entries[i];
    largest = std::max<size_t>(largest, e.end - e.begin);
    if (e.begin == e.end) continue;
    if (prev && e.begin < prev->end)
      fail(GRL_ERROR_IO, "%s: '%s' is not a valid safetensors file: tensors %s (data_offsets [%llu, %llu]) and %s "
           "(data_offsets [%llu, %llu]) overlap", __func__, path, show(prev->name).c_str(),
           static_cast<unsigned long long>(prev->begin), static_cast<unsigned long long>(prev->end),
           show(e.name).c_str(), static_cast<unsigned long long>(e.begin), static_cast<unsigned long long>(e.end));
    prev = &e;
  }

  auto map = std::make_unique<grl_tensor_map_s>();
  map->tensors.resize(entries.size());
  auto buf = std::make_unique_for_overwrite<unsigned char[]>(largest);
  // Offset order reads the file front to back.
  for (size_t i : order) {
    const Entry& e = entries[i];
    size_t bytes = static_cast<size_t>(e.end - e.begin);
    if (bytes) {
      file.read(data_start + e.begin, buf.get(), bytes);
      swap_to_little_endian(buf.get(), bytes, dtype_size(e.dtype));
    }
    DeviceLock lock(d.impl->mutex());
    TensorRef t = new_tensor(&d, e.dtype, e.shape);
    if (bytes) d.impl->upload(t->block(), 0, buf.get(), bytes);
    map->tensors[i] = std::move(t);
  }
  map->names.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    map->index.emplace(entries[i].name, i);
    map->names.push_back(std::move(entries[i].name));
  }
  *out = map.release();
  GRL_API_END();
}

GRL_API void grl_tensor_map_release(grl_tensor_map map) { std::unique_ptr<grl_tensor_map_s> drop(map); }

GRL_API grl_status grl_tensor_map_count(grl_tensor_map map, int32_t* out) {
  GRL_API_BEGIN();
  auto& m = arg_map(__func__, map);
  GRL_CHECK_OUT(out);
  *out = static_cast<int32_t>(m.names.size());
  GRL_API_END();
}

GRL_API grl_status grl_tensor_map_name(grl_tensor_map map, int32_t index, const char** out) {
  GRL_API_BEGIN();
  auto& m = arg_map(__func__, map);
  GRL_CHECK_OUT(out);
  if (index < 0 || static_cast<size_t>(index) >= m.names.size())
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'index' = %d is out of range (the map holds %zu tensors)", __func__, index,
         m.names.size());
  *out = m.names[static_cast<size_t>(index)].c_str();
  GRL_API_END();
}

GRL_API grl_status grl_tensor_map_get(grl_tensor_map map, const char* name, grl_tensor* out) {
  GRL_API_BEGIN();
  auto& m = arg_map(__func__, map);
  arg_not_null(__func__, "name", name);
  GRL_CHECK_OUT(out);
  auto it = m.index.find(name);
  if (it == m.index.end()) {
    std::string some;
    for (size_t i = 0; i < m.names.size() && i < 5; ++i) {
      if (i) some += ", ";
      some += show(m.names[i]);
    }
    if (m.names.size() > 5) some += ", ...";
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: no tensor named %s in the map; it holds %zu%s%s", __func__,
         show(name).c_str(), m.names.size(), m.names.empty() ? " tensors" : ": ", some.c_str());
  }
  *out = TensorRef::retain(m.tensors[it->second].get()).release();
  GRL_API_END();
}

}  // extern "C"
