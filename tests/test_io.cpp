// Io family: safetensors checkpoints. Round trips of every dtype and layout, the exact bytes of a
// small file, atomic replacement when a save fails, malformed files, and random corruption.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "testing.h"

using namespace gt;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<unsigned char>;

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

// 8-byte little-endian length, then the header and the data buffer.
std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int b = 0; b < 8; ++b) s[static_cast<size_t>(b)] = static_cast<char>(n >> (8 * b));
  return s;
}
std::string st_file(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

Bytes random_bytes(size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<unsigned char>(rng()() & 0xFF);
  return b;
}

Bytes bytes_of(grl_tensor t) {
  Bytes b(static_cast<size_t>(grl_tensor_numel(t)) * grl_dtype_size(grl_tensor_dtype(t)));
  grl_status s = grl_tensor_download(t, b.data(), b.size());
  EXPECT_EQ(s, GRL_OK) << grl_last_error_message();
  return b;
}

Shape shape_of(grl_tensor t) {
  Shape s;
  for (int i = 0; i < grl_tensor_ndim(t); ++i) s.push_back(grl_tensor_dim(t, i));
  return s;
}

grl_tensor from_bytes(grl_device dev, grl_dtype dt, const Shape& s, const Bytes& b) {
  grl_tensor t = nullptr;
  grl_status st = grl_tensor_from_host(dev, dt, s.data(), static_cast<int32_t>(s.size()), b.data(), b.size(), &t);
  EXPECT_EQ(st, GRL_OK) << grl_last_error_message();
  return t;
}

// Element bytes of a strided view gathered from its source's row-major bytes on the host.
Bytes gather(const Bytes& src, size_t es, const Shape& shape, const std::vector<int64_t>& stride, int64_t offset) {
  Bytes out;
  int64_t n = numel(shape);
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, at = offset;
    for (size_t d = shape.size(); d-- > 0;) {
      at += (rem % shape[d]) * stride[d];
      rem /= shape[d];
    }
    auto first = src.begin() + at * static_cast<int64_t>(es);
    out.insert(out.end(), first, first + static_cast<int64_t>(es));
  }
  return out;
}

struct Map {
  grl_tensor_map m = nullptr;
  ~Map() { grl_tensor_map_release(m); }
  grl_tensor_map* out() {
    grl_tensor_map_release(m);
    m = nullptr;
    return &m;
  }
};

size_t open_descriptors() {
  return static_cast<size_t>(std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator()));
}

std::set<std::string> entries(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

}  // namespace

class Io : public DeviceTest {
 protected:
  void SetUp() override {
    DeviceTest::SetUp();
    std::string tmpl = (fs::temp_directory_path() / "grilly-io-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
    DeviceTest::TearDown();
  }
  std::string path(const char* name) const { return (dir_ / name).string(); }

  grl_status save(const std::string& p, const std::vector<std::string>& names, const std::vector<grl_tensor>& ts) {
    std::vector<const char*> n;
    for (const auto& s : names) n.push_back(s.c_str());
    return grl_save_safetensors(p.c_str(), n.data(), ts.data(), static_cast<int32_t>(ts.size()));
  }

  fs::path dir_;
};

TEST_F(Io, RoundTripEveryDtypeAndShape) {
  // Raw random bytes (NaN payloads included) must come back bit for bit.
  const std::vector<Shape> shapes = {{}, {0}, {1}, {7}, {3, 5}, {2, 0, 3}, {2, 3, 4, 5},
                                     {1, 2, 1, 2, 1, 2, 1, 3}, {67, 33}};
  std::vector<std::string> names;
  std::vector<T> owned;
  std::vector<grl_tensor> ts;
  std::vector<Bytes> data;
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64, GRL_U8})
    for (size_t i = 0; i < shapes.size(); ++i) {
      Bytes b = random_bytes(static_cast<size_t>(numel(shapes[i])) * grl_dtype_size(dt));
      owned.emplace_back(from_bytes(dev, dt, shapes[i], b));
      ts.push_back(owned.back());
      names.push_back(std::string(grl_dtype_name(dt)) + "/" + str(shapes[i]));
      data.push_back(b);
    }
  const std::string p = path("all.safetensors");
  ASSERT_GRL_OK(save(p, names, ts));
  EXPECT_EQ(entries(dir_), std::set<std::string>{"all.safetensors"});  // no temporary left behind

  Map m;
  ASSERT_GRL_OK(grl_load_safetensors(dev, p.c_str(), m.out()));
  int32_t count = 0;
  ASSERT_GRL_OK(grl_tensor_map_count(m.m, &count));
  ASSERT_EQ(count, static_cast<int32_t>(ts.size()));
  for (int32_t i = 0; i < count; ++i) {
    const char* name = nullptr;
    ASSERT_GRL_OK(grl_tensor_map_name(m.m, i, &name));
    EXPECT_EQ(std::string(name), names[static_cast<size_t>(i)]) << "names come back in the order saved";
    T t;
    ASSERT_GRL_OK(grl_tensor_map_get(m.m, name, t.out()));
    EXPECT_EQ(grl_tensor_device(t), dev);
    EXPECT_EQ(grl_tensor_dtype(t), grl_tensor_dtype(ts[static_cast<size_t>(i)])) << name;
    EXPECT_EQ(shape_of(t), shape_of(ts[static_cast<size_t>(i)])) << name;
    // (The core reports shapes like [2, 0, 3] as not contiguous; empty tensors are left out here.)
    if (grl_tensor_numel(t) > 0) {
      EXPECT_TRUE(grl_tensor_is_contiguous(t)) << name;
    }
    EXPECT_EQ(bytes_of(t), data[static_cast<size_t>(i)]) << name;
  }
}

TEST_F(Io, NonContiguousViewsAreWrittenRowMajor) {
  struct V {
    const char* name;
    grl_dtype dt;
    Shape src;
  };
  Host a = Host::random({5, 6}, rng()), b = Host::random({9, 4}, rng()), c = Host::random({3, 1}, rng(), -50, 50),
       d = Host::random({2, 3, 4}, rng()), e = Host::random({4, 10}, rng(), 0, 255);
  T ta(upload(dev, a, GRL_F32)), tb(upload(dev, b, GRL_F16)), tc(upload(dev, c, GRL_I64)),
      td(upload(dev, d, GRL_BF16)), te(upload(dev, e, GRL_U8));
  T vt, vs, ve, vp, vu;
  ASSERT_GRL_OK(grl_transpose(ta, 0, 1, vt.out()));
  ASSERT_GRL_OK(grl_slice(tb, 0, 1, 9, 3, vs.out()));
  const int64_t big[] = {3, 4};
  ASSERT_GRL_OK(grl_expand(tc, big, 2, ve.out()));
  const int32_t axes[] = {2, 0, 1};
  ASSERT_GRL_OK(grl_permute(td, axes, 3, vp.out()));
  ASSERT_GRL_OK(grl_slice(te, 1, 2, 9, 2, vu.out()));
  for (grl_tensor v : {vt.t, vs.t, ve.t, vp.t, vu.t}) ASSERT_FALSE(grl_tensor_is_contiguous(v));

  // Expected bytes: the sources' bytes gathered through the views' geometry on the host.
  std::vector<Bytes> want = {
      gather(bytes_of(ta), 4, {6, 5}, {1, 6}, 0),
      gather(bytes_of(tb), 2, {3, 4}, {12, 1}, 4),
      gather(bytes_of(tc), 8, {3, 4}, {1, 0}, 0),
      gather(bytes_of(td), 2, {4, 2, 3}, {1, 12, 4}, 0),
      gather(bytes_of(te), 1, {4, 4}, {10, 2}, 2),
  };
  const std::string p = path("views.safetensors");
  ASSERT_GRL_OK(save(p, {"t", "s", "e", "p", "u"}, {vt, vs, ve, vp, vu}));
  Map m;
  ASSERT_GRL_OK(grl_load_safetensors(dev, p.c_str(), m.out()));
  const char* names[] = {"t", "s", "e", "p", "u"};
  grl_tensor views[] = {vt, vs, ve, vp, vu};
  for (int i = 0; i < 5; ++i) {
    T t;
    ASSERT_GRL_OK(grl_tensor_map_get(m.m, names[i], t.out()));
    EXPECT_EQ(shape_of(t), shape_of(views[i])) << names[i];
    EXPECT_EQ(bytes_of(t), want[static_cast<size_t>(i)]) << names[i];
  }
}

TEST_F(Io, ByteExactLayout) {
  const float w[] = {1.0f, -2.0f};
  const uint8_t u[] = {1, 2, 3};
  const int64_t s = 5;
  const int64_t two = 2, three = 3;
  T tw, tu, ts;
  ASSERT_GRL_OK(grl_tensor_from_host(dev, GRL_F32, &two, 1, w, sizeof w, tw.out()));
  ASSERT_GRL_OK(grl_tensor_from_host(dev, GRL_U8, &three, 1, u, sizeof u, tu.out()));
  ASSERT_GRL_OK(grl_tensor_from_host(dev, GRL_I64, nullptr, 0, &s, sizeof s, ts.out()));
  const std::string p = path("layout.safetensors");
  ASSERT_GRL_OK(save(p, {"weights", "a\"b", "s"}, {tw, tu, ts}));

  // 201 bytes of JSON padded with 7 spaces to 208 = 0xd0; offsets follow the given order.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"weights":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("a\"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]},)"
      R"("s":{"dtype":"I64","shape":[],"data_offsets":[11,19]}})"
      "       ";
  ASSERT_EQ(header.size(), 208u);
  const std::string want = std::string("\xd0\0\0\0\0\0\0\0", 8) + header +
                           std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8) + "\x01\x02\x03" +
                           std::string("\x05\0\0\0\0\0\0\0", 8);
  EXPECT_EQ(read_file(p), want);
}

TEST_F(Io, AcceptsValidVariantsOfTheFormat) {
  // Whitespace, escaped and non-ASCII names, metadata last, an unpadded header, BOOL, gaps between
  // tensors and bytes after the last one, and an empty tensor whose offsets fall inside another's.
  const std::string header =
      " {\n \"caf\\u00e9\" : {\"shape\": [2], \"dtype\": \"U8\", \"data_offsets\": [0, 2]},\r\n"
      "\t\"\\ud83d\\ude00\\n\\/\":{\"data_offsets\":[4,8],\"dtype\":\"BOOL\",\"shape\":[2,2]},"
      "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[5,5]},"
      "\"x\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[8,12]},"
      "\"__metadata__\":{\"format\":\"pt\",\"note\":\"\\\"hi\\\"\"}} ";
  ASSERT_NE(header.size() % 8, 0u);
  const std::string data =
      std::string("\x07\x09\xAA\xAA\x01\x00\x01\x01", 8) + std::string("\xfe\xff\xff\xff", 4) + "tail";
  const std::string p = path("variants.safetensors");
  write_file(p, st_file(header, data));
  Map m;
  ASSERT_GRL_OK(grl_load_safetensors(dev, p.c_str(), m.out()));
  int32_t count = 0;
  ASSERT_GRL_OK(grl_tensor_map_count(m.m, &count));
  ASSERT_EQ(count, 4);
  const char* n0 = nullptr;
  ASSERT_GRL_OK(grl_tensor_map_name(m.m, 0, &n0));
  EXPECT_STREQ(n0, "caf\xc3\xa9");
  T a, b, e, x;
  ASSERT_GRL_OK(grl_tensor_map_get(m.m, "caf\xc3\xa9", a.out()));
  ASSERT_GRL_OK(grl_tensor_map_get(m.m, "\xf0\x9f\x98\x80\n/", b.out()));
  ASSERT_GRL_OK(grl_tensor_map_get(m.m, "e", e.out()));
  ASSERT_GRL_OK(grl_tensor_map_get(m.m, "x", x.out()));
  EXPECT_EQ(bytes_of(a), (Bytes{7, 9}));
  EXPECT_EQ(grl_tensor_dtype(b), GRL_U8);
  EXPECT_EQ(shape_of(b), (Shape{2, 2}));
  EXPECT_EQ(bytes_of(b), (Bytes{1, 0, 1, 1}));
  EXPECT_EQ(shape_of(e), (Shape{0, 3}));
  EXPECT_EQ(grl_tensor_numel(e), 0);
  EXPECT_EQ(grl_tensor_ndim(x), 0);
  EXPECT_EQ(download(x).v, std::vector<double>{-2});

  // The smallest file: an empty object.
  write_file(p, st_file("{}"));
  ASSERT_GRL_OK(grl_load_safetensors(dev, p.c_str(), m.out()));
  ASSERT_GRL_OK(grl_tensor_map_count(m.m, &count));
  EXPECT_EQ(count, 0);
}

TEST_F(Io, MapHandsOutReferencesAndNamesMissingKeys) {
  Host h = Host::random({4}, rng());
  for (auto& x : h.v) x = round_to(GRL_F32, x);
  std::vector<std::string> names = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"};
  std::vector<T> owned;
  std::vector<grl_tensor> ts;
  for (size_t i = 0; i < names.size(); ++i) {
    owned.emplace_back(upload(dev, h));
    ts.push_back(owned.back());
  }
  const std::string p = path("m.safetensors");
  ASSERT_GRL_OK(save(p, names, ts));
  Map m;
  ASSERT_GRL_OK(grl_load_safetensors(dev, p.c_str(), m.out()));
  T got;
  ASSERT_GRL_OK(grl_tensor_map_get(m.m, "gamma", got.out()));
  grl_tensor_map_release(m.m);  // the tensor outlives the map: get returned its own reference
  m.m = nullptr;
  EXPECT_TRUE(close(download(got), h, {0, 0}));

  ASSERT_GRL_OK(grl_load_safetensors(dev, p.c_str(), m.out()));
  grl_tensor untouched = nullptr;
  EXPECT_GRL_ERROR(grl_tensor_map_get(m.m, "gama", &untouched), GRL_ERROR_INVALID_ARGUMENT, "no tensor named 'gama'");
  EXPECT_NE(std::string(grl_last_error_message()).find("holds 7: 'alpha', 'beta'"), std::string::npos)
      << grl_last_error_message();
  EXPECT_EQ(untouched, nullptr);
  EXPECT_GRL_ERROR(grl_tensor_map_get(m.m, nullptr, &untouched), GRL_ERROR_NULL_ARGUMENT, "name");
  EXPECT_GRL_ERROR(grl_tensor_map_get(nullptr, "alpha", &untouched), GRL_ERROR_NULL_ARGUMENT, "map");
  EXPECT_GRL_ERROR(grl_tensor_map_get(m.m, "alpha", nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  const char* name = nullptr;
  EXPECT_GRL_ERROR(grl_tensor_map_name(m.m, 7, &name), GRL_ERROR_INVALID_ARGUMENT, "'index' = 7 is out of range");
  EXPECT_GRL_ERROR(grl_tensor_map_name(m.m, -1, &name), GRL_ERROR_INVALID_ARGUMENT, "out of range");
  EXPECT_EQ(name, nullptr);
  int32_t count = -1;
  EXPECT_GRL_ERROR(grl_tensor_map_count(nullptr, &count), GRL_ERROR_NULL_ARGUMENT, "map");
  EXPECT_GRL_ERROR(grl_tensor_map_count(m.m, nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  grl_tensor_map_release(nullptr);
}

TEST_F(Io, BadArgumentsWriteNothing) {
  Host h = Host::random({3}, rng());
  T a(upload(dev, h)), b(upload(dev, h));
  const std::string p = path("x.safetensors");
  const char* names[] = {"a", "b"};
  grl_tensor ts[] = {a, b};
  EXPECT_GRL_ERROR(grl_save_safetensors(nullptr, names, ts, 2), GRL_ERROR_NULL_ARGUMENT, "'path'");
  EXPECT_GRL_ERROR(grl_save_safetensors("", names, ts, 2), GRL_ERROR_INVALID_ARGUMENT, "'path' is empty");
  EXPECT_GRL_ERROR(grl_save_safetensors(p.c_str(), names, ts, -1), GRL_ERROR_INVALID_ARGUMENT, "'count' is -1");
  EXPECT_GRL_ERROR(grl_save_safetensors(p.c_str(), nullptr, ts, 2), GRL_ERROR_NULL_ARGUMENT, "'names'");
  EXPECT_GRL_ERROR(grl_save_safetensors(p.c_str(), names, nullptr, 2), GRL_ERROR_NULL_ARGUMENT, "'tensors'");
  const char* null_name[] = {"a", nullptr};
  EXPECT_GRL_ERROR(grl_save_safetensors(p.c_str(), null_name, ts, 2), GRL_ERROR_NULL_ARGUMENT, "names[1] is NULL");
  grl_tensor null_tensor[] = {a, nullptr};
  EXPECT_GRL_ERROR(grl_save_safetensors(p.c_str(), names, null_tensor, 2), GRL_ERROR_NULL_ARGUMENT,
                   "tensors[1] ('b') is NULL");
  const char* dup[] = {"a", "a"};
  EXPECT_GRL_ERROR(grl_save_safetensors(p.c_str(), dup, ts, 2), GRL_ERROR_INVALID_ARGUMENT, "'a' appears twice");
  const char* reserved[] = {"a", "__metadata__"};
  EXPECT_GRL_ERROR(grl_save_safetensors(p.c_str(), reserved, ts, 2), GRL_ERROR_INVALID_ARGUMENT, "reserves");
  const char* not_utf8[] = {"a", "b\xff"};
  EXPECT_GRL_ERROR(grl_save_safetensors(p.c_str(), not_utf8, ts, 2), GRL_ERROR_INVALID_ARGUMENT,
                   "names[1] = 'b\\xff' is not valid UTF-8");
  EXPECT_TRUE(entries(dir_).empty());

  // Zero tensors is a valid (empty) checkpoint.
  ASSERT_GRL_OK(grl_save_safetensors(p.c_str(), nullptr, nullptr, 0));
  Map m;
  ASSERT_GRL_OK(grl_load_safetensors(dev, p.c_str(), m.out()));
  int32_t count = -1;
  ASSERT_GRL_OK(grl_tensor_map_count(m.m, &count));
  EXPECT_EQ(count, 0);

  grl_tensor_map untouched = nullptr;
  EXPECT_GRL_ERROR(grl_load_safetensors(nullptr, p.c_str(), &untouched), GRL_ERROR_NULL_ARGUMENT, "device");
  EXPECT_GRL_ERROR(grl_load_safetensors(dev, nullptr, &untouched), GRL_ERROR_NULL_ARGUMENT, "path");
  EXPECT_GRL_ERROR(grl_load_safetensors(dev, p.c_str(), nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  const std::string missing = path("missing.safetensors");
  EXPECT_GRL_ERROR(grl_load_safetensors(dev, missing.c_str(), &untouched), GRL_ERROR_IO, std::strerror(ENOENT));
  EXPECT_NE(std::string(grl_last_error_message()).find(missing), std::string::npos) << grl_last_error_message();
  EXPECT_GRL_ERROR(grl_load_safetensors(dev, dir_.c_str(), &untouched), GRL_ERROR_IO, "not a regular file");
  EXPECT_EQ(untouched, nullptr);
}

TEST_F(Io, FailedSavesLeaveTheOldFileIntact) {
  Host h1 = Host::random({16}, rng()), h2 = Host::random({16384}, rng());
  T t1(upload(dev, h1)), t2(upload(dev, h2));
  const std::string p = path("ckpt.safetensors");
  ASSERT_GRL_OK(save(p, {"w"}, {t1}));
  const std::string old = read_file(p);

  // A successful save replaces the file and keeps its permissions.
  const std::string p2 = path("other.safetensors");
  ASSERT_GRL_OK(save(p2, {"w"}, {t1}));
  const auto private_mode = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read;
  fs::permissions(p2, private_mode);
  ASSERT_GRL_OK(save(p2, {"w"}, {t2}));
  EXPECT_EQ(fs::status(p2).permissions(), private_mode);
  {
    Map m;
    T got;
    ASSERT_GRL_OK(grl_load_safetensors(dev, p2.c_str(), m.out()));
    ASSERT_GRL_OK(grl_tensor_map_get(m.m, "w", got.out()));
    EXPECT_EQ(grl_tensor_numel(got), 16384);
  }
  fs::remove(p2);

  // The write fails half way (the file size limit is below the data size): EFBIG, no temporary.
  struct rlimit saved {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct rlimit small = saved;
  small.rlim_cur = 4096;
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  grl_status s = save(p, {"w"}, {t2});
  std::string message = grl_last_error_message();
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(s, GRL_ERROR_IO) << message;
  EXPECT_NE(message.find(std::strerror(EFBIG)), std::string::npos) << message;
  EXPECT_NE(message.find(p), std::string::npos) << message;
  EXPECT_EQ(read_file(p), old);
  EXPECT_EQ(entries(dir_), std::set<std::string>{"ckpt.safetensors"});

  // The rename fails: the target is a directory.
  const std::string d = path("dir.safetensors");
  fs::create_directory(d);
  EXPECT_GRL_ERROR(save(d, {"w"}, {t1}), GRL_ERROR_IO, std::strerror(EISDIR));
  EXPECT_NE(std::string(grl_last_error_message()).find(d), std::string::npos) << grl_last_error_message();
  EXPECT_TRUE(fs::is_directory(d));
  EXPECT_TRUE(fs::is_empty(d));
  EXPECT_EQ(entries(dir_), (std::set<std::string>{"ckpt.safetensors", "dir.safetensors"}));

  // The temporary cannot be created: the parent directory does not exist.
  const std::string orphan = path("no/such/dir/x.safetensors");
  EXPECT_GRL_ERROR(save(orphan, {"w"}, {t1}), GRL_ERROR_IO, std::strerror(ENOENT));
  EXPECT_NE(std::string(grl_last_error_message()).find(orphan), std::string::npos) << grl_last_error_message();
  EXPECT_FALSE(fs::exists(path("no")));

  // The directory is read-only (root ignores permissions, so only as another user).
  if (geteuid() != 0) {
    fs::permissions(dir_, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove);
    EXPECT_GRL_ERROR(save(p, {"w"}, {t2}), GRL_ERROR_IO, std::strerror(EACCES));
    fs::permissions(dir_, fs::perms::owner_write, fs::perm_options::add);
  }
  EXPECT_EQ(read_file(p), old);
  EXPECT_EQ(entries(dir_), (std::set<std::string>{"ckpt.safetensors", "dir.safetensors"}));
}

TEST_F(Io, MalformedFilesAreRejected) {
  const std::string d24(24, '\x01');
  auto entry = [](const std::string& name, const std::string& body) { return "\"" + name + "\":{" + body + "}"; };
  const std::string w = R"("dtype":"F32","shape":[2,3],"data_offsets":[0,24])";
  // A header holding one tensor 'w' with the given entry body.
  auto one = [&](const std::string& body, const std::string& data = std::string(24, '\x01')) {
    return st_file("{" + entry("w", body) + "}", data);
  };
  struct Case {
    const char* what;
    std::string bytes;
    const char* needle;
  };
  const std::vector<Case> cases = {
      {"empty file", "", "0 bytes long, too short for the 8-byte header length"},
      {"truncated length", std::string("\x10\0\0", 3), "3 bytes long, too short"},
      {"header length past the end", le64(1000) + "{}", "header length 1000 exceeds the 2 bytes that follow"},
      {"header length 0", le64(0) + "{}", "header length 0 is too small"},
      {"header length 1", le64(1) + "{}", "header length 1 is too small"},
      {"huge header length", le64(~uint64_t{0}) + "{}", "exceeds the 100 MB limit"},
      {"not JSON", st_file("hello world!"),
       "invalid header JSON at byte 0: expected '{' at the start of the header, found 'h'"},
      {"binary header", st_file(std::string("\x00\x01", 2)), "found byte 0x00"},
      {"JSON array", st_file("[1, 2]"), "the header is a JSON array"},
      {"JSON string", st_file("\"abc\""), "expected '{' at the start of the header, found a string"},
      {"truncated JSON", st_file(R"({"w":{"dtype":"F32")"),
       "tensor 'w': invalid header JSON at byte 19: expected ',' or '}' after a value, found the end of the header"},
      {"unterminated string", st_file(R"({"w)"), "unterminated string"},
      {"trailing garbage", st_file("{" + entry("w", w) + "}x   ", d24),
       "unexpected data after the end of the header object: 'x'"},
      {"two objects", st_file("{}{}"), "after the end of the header object: an object"},
      {"trailing comma", st_file("{" + entry("w", w) + ",}", d24), "expected a string key, found '}'"},
      {"missing colon", st_file(R"({"w" {}})"), "expected ':' after the key 'w', found an object"},
      {"unknown dtype", one(R"("dtype":"F33","shape":[2,3],"data_offsets":[0,24])"),
       "tensor 'w': unknown dtype 'F33'"},
      {"unsupported dtype", one(R"("dtype":"F64","shape":[3],"data_offsets":[0,24])"),
       "tensor 'w': dtype 'F64' is not supported by grilly"},
      {"size mismatch", one(R"("dtype":"F32","shape":[2,3],"data_offsets":[0,20])"),
       "tensor 'w': shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 20] span 20"},
      {"offsets past the end", one(w, d24.substr(0, 16)),
       "tensor 'w': data_offsets [0, 24] run past the end of the data buffer (16 bytes"},
      {"overlap", st_file("{" + entry("a", R"("dtype":"F32","shape":[4],"data_offsets":[0,16])") + "," +
                          entry("b", R"("dtype":"I32","shape":[4],"data_offsets":[8,24])") + "}", d24),
       "tensors 'a' (data_offsets [0, 16]) and 'b' (data_offsets [8, 24]) overlap"},
      {"same range", st_file("{" + entry("a", w) + "," + entry("b", w) + "}", d24),
       "'a' (data_offsets [0, 24]) and 'b'"},
      {"duplicate key", st_file("{" + entry("w", w) + "," + entry("w", w) + "}", d24), "duplicate key 'w'"},
      {"duplicate metadata", st_file(R"({"__metadata__":{},"__metadata__":{}})"), "duplicate key '__metadata__'"},
      {"duplicate field", one(R"("dtype":"F32","dtype":"F32","shape":[2,3],"data_offsets":[0,24])"),
       "tensor 'w': duplicate field \"dtype\""},
      {"negative shape", one(R"("dtype":"F32","shape":[-2,3],"data_offsets":[0,24])"),
       "tensor 'w': \"shape\" entry -2 is negative"},
      {"negative offsets", one(R"("dtype":"U8","shape":[24],"data_offsets":[-8,16])"),
       "data_offsets [-8, 16] are negative"},
      {"reversed offsets", one(R"("dtype":"U8","shape":[0],"data_offsets":[16,8])"),
       "data_offsets [16, 8] are reversed"},
      {"huge number", one(R"("dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,24])"),
       "\"shape\": the number '99999999999999999999' does not fit in 64 bits"},
      {"just past int64", one(R"("dtype":"U8","shape":[24],"data_offsets":[0,9223372036854775808])"),
       "the number '9223372036854775808' does not fit"},
      {"huge offset", one(R"("dtype":"U8","shape":[24],"data_offsets":[9223372036854775783,9223372036854775807])"),
       "run past the end of the data buffer"},
      {"element count overflow",
       one(R"("dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0])", ""),
       "shape [4294967296, 4294967296, 4294967296] has more than 2^40 elements"},
      {"overflow hidden by a zero dim",
       one(R"("dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0])", ""),
       "has more than 2^40 elements"},
      {"missing field", one(R"("dtype":"F32","shape":[2,3])"),
       "tensor 'w': missing field \"data_offsets\""},
      {"extra field", one(w + R"(,"foo":1)"),
       "tensor 'w': unexpected field 'foo'"},
      {"dtype not a string", one(R"("dtype":5,"shape":[2,3],"data_offsets":[0,24])"),
       "\"dtype\" must be a string, found a number"},
      {"shape not an array", one(R"("dtype":"F32","shape":6,"data_offsets":[0,24])"),
       "\"shape\" must be an array of integers, found a number"},
      {"fraction", one(R"("dtype":"F32","shape":[2.0,3],"data_offsets":[0,24])"),
       "\"shape\" must hold integers, found a number with a fraction or exponent"},
      {"exponent", one(R"("dtype":"F32","shape":[2,3],"data_offsets":[0,2e1])"),
       "\"data_offsets\" must hold integers, found a number with a fraction"},
      {"leading zero", one(R"("dtype":"F32","shape":[02,3],"data_offsets":[0,24])"),
       "leading zeros are not allowed"},
      {"lone minus", one(R"("dtype":"F32","shape":[-,3],"data_offsets":[0,24])"),
       "expected a digit after '-'"},
      {"plus sign", one(R"("dtype":"F32","shape":[+2,3],"data_offsets":[0,24])"),
       "\"shape\" must hold integers, found '+'"},
      {"deep nesting", one(R"("dtype":"F32","shape":[[[[[[[[2]]]]]]],"data_offsets":[0,24])"),
       "\"shape\" must hold integers, found an array"},
      {"literal", one(R"("dtype":"F32","shape":true,"data_offsets":[0,24])"),
       "found 'true' (only objects, arrays, strings and integers are allowed)"},
      {"too many dims", one(R"("dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1])"),
       "\"shape\" has more than 8 dims"},
      {"three offsets", one(R"("dtype":"U8","shape":[8],"data_offsets":[0,8,16])"),
       "\"data_offsets\" has more than two entries"},
      {"one offset", one(R"("dtype":"U8","shape":[8],"data_offsets":[0])"),
       "\"data_offsets\" has 1 entries"},
      {"entry not an object", st_file(R"({"w":5})"),
       "tensor 'w': expected an object with dtype, shape and data_offsets"},
      {"null metadata", st_file(R"({"__metadata__":null})"),
       "\"__metadata__\" must be an object of strings, found 'null'"},
      {"metadata number", st_file(R"({"__metadata__":{"format":1}})"),
       "\"__metadata__\" value 'format' must be a string"},
      {"bad escape", st_file(R"({"w\q":{}})"), "invalid escape sequence in a string: \\'q'"},
      {"bad unicode escape", st_file(R"({"w\u12G4":{}})"), "expected four hex digits after \\u"},
      {"lone surrogate", st_file(R"({"w\udc00":{}})"), "unpaired low surrogate"},
      {"unpaired high surrogate", st_file(R"({"w\ud800x":{}})"), "a high surrogate \\u escape must be followed"},
      {"invalid UTF-8", st_file("{\"w\xff\":{}}"), "invalid UTF-8 inside a string"},
      {"overlong UTF-8", st_file("{\"w\xc0\xaf\":{}}"), "invalid UTF-8 inside a string"},
      {"raw control character", st_file("{\"w\nx\":{}}"), "control character 0x0a inside a string"},
      {"NUL in a name", st_file(R"({"a\u0000b":{}})"), "tensor 'a\\x00b': the name contains a NUL character"},
  };
  const std::string p = path("bad.safetensors");
  const size_t descriptors = open_descriptors();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    write_file(p, c.bytes);
    grl_tensor_map untouched = nullptr;
    EXPECT_GRL_ERROR(grl_load_safetensors(dev, p.c_str(), &untouched), GRL_ERROR_IO, c.needle);
    EXPECT_NE(std::string(grl_last_error_message()).find(p), std::string::npos) << c.what;
    EXPECT_EQ(untouched, nullptr) << c.what;
  }
  grl_tensor_map untouched = nullptr;
  EXPECT_GRL_ERROR(grl_load_safetensors(dev, dir_.c_str(), &untouched), GRL_ERROR_IO, "not a regular file");
  EXPECT_EQ(open_descriptors(), descriptors) << "a failed load closes its file";

  // A header length over 100 MB in a file that is large enough: the limit, not the file size,
  // stops it (a sparse file costs no disk).
  write_file(p, le64(100'000'001) + "{}");
  fs::resize_file(p, 100'000'200);
  EXPECT_GRL_ERROR(grl_load_safetensors(dev, p.c_str(), &untouched), GRL_ERROR_IO,
                   "header length 100000001 exceeds the 100 MB limit");
}

TEST_F(Io, RandomCorruptionFailsCleanly) {
  Host a = Host::random({3, 4}, rng()), b = Host::random({5}, rng(), 0, 100), c = Host::random({2, 2}, rng());
  T ta(upload(dev, a)), tb(upload(dev, b, GRL_I64)), tc(upload(dev, c, GRL_BF16)), tu(upload(dev, b, GRL_U8)),
      ts(upload(dev, Host::zeros({}), GRL_F16));
  const std::vector<std::string> names = {"layer.0.weight", "idx", "b\\f16", "mask", "scalar"};
  const std::vector<grl_tensor> tensors = {ta, tb, tc, tu, ts};
  const std::string p = path("good.safetensors");
  ASSERT_GRL_OK(save(p, names, tensors));
  const std::string good = read_file(p);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<unsigned char>(good[static_cast<size_t>(i)]);
  const size_t data_start = static_cast<size_t>(8 + n);
  const std::string structural = "{}[]\",:-0123456789\\ eu";

  int rejected = 0;
  for (int iter = 0; iter < 200; ++iter) {
    std::string bad = good;
    // 0: damage the length or header; 1: truncate; 2: damage anywhere, then truncate; 3: damage
    // only tensor data, which the format cannot detect: the load succeeds with those bytes.
    int mode = iter % 4;
    if (mode != 1) {
      int flips = 1 + static_cast<int>(rng()() % 4);
      for (int f = 0; f < flips; ++f) {
        size_t lo = mode == 3 ? data_start : 0, hi = mode == 0 ? data_start : bad.size();
        size_t at = lo + static_cast<size_t>(rng()() % (hi - lo));
        if (mode == 3 || rng()() % 2)
          bad[at] = static_cast<char>(bad[at] ^ (1 << (rng()() % 8)));
        else
          bad[at] = structural[rng()() % structural.size()];
      }
    }
    if (mode == 1 || mode == 2) bad.resize(static_cast<size_t>(rng()() % (bad.size() + 1)));
    write_file(p, bad);
    Map m;
    grl_status s = grl_load_safetensors(dev, p.c_str(), m.out());
    if (mode == 3) {
      ASSERT_EQ(s, GRL_OK) << "iteration " << iter << ": " << grl_last_error_message();
      size_t at = data_start;
      for (size_t i = 0; i < names.size(); ++i) {
        T t;
        ASSERT_GRL_OK(grl_tensor_map_get(m.m, names[i].c_str(), t.out()));
        Bytes got = bytes_of(t);
        EXPECT_EQ(std::string(got.begin(), got.end()), bad.substr(at, got.size())) << names[i];
        at += got.size();
      }
    } else if (s == GRL_OK) {  // damage that left a valid file (e.g. a digit of the data changed)
      int32_t count = 0;
      ASSERT_GRL_OK(grl_tensor_map_count(m.m, &count));
      for (int32_t i = 0; i < count; ++i) {
        const char* name = nullptr;
        T t;
        ASSERT_GRL_OK(grl_tensor_map_name(m.m, i, &name));
        ASSERT_GRL_OK(grl_tensor_map_get(m.m, name, t.out()));
        bytes_of(t);
      }
    } else {
      ++rejected;
      ASSERT_EQ(s, GRL_ERROR_IO) << "iteration " << iter << ": " << grl_last_error_message();
      ASSERT_NE(std::string(grl_last_error_message()).find(p), std::string::npos) << grl_last_error_message();
    }
  }
  EXPECT_GT(rejected, 100);  // of the 150 damaged headers and truncations, nearly all are caught
}
