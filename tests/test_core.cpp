// Devices, tensors, transfers, views, casts, memory pool and the error contract of the C ABI.
#include <cmath>
#include <cstring>
#include <thread>

#include "testing.h"

using namespace gt;

class Core : public DeviceTest {};

TEST(Version, MatchesMacros) {
  EXPECT_EQ(grl_version(), (GRL_VERSION_MAJOR << 22) | (GRL_VERSION_MINOR << 12) | GRL_VERSION_PATCH);
  EXPECT_STREQ(grl_version_string(), "0.1.0");
  EXPECT_STREQ(grl_status_string(GRL_ERROR_SHAPE), "GRL_ERROR_SHAPE");
  EXPECT_EQ(grl_dtype_size(GRL_BF16), 2u);
  EXPECT_STREQ(grl_dtype_name(GRL_I64), "i64");
}

TEST_F(Core, DeviceInfoAndEnumeration) {
  uint32_t n = 0;
  ASSERT_GRL_OK(grl_device_count(&n));
  ASSERT_GE(n, 1u);
  grl_device_info info;
  ASSERT_GRL_OK(grl_device_get_info(dev, &info));
  EXPECT_GT(std::strlen(info.name), 0u);
  EXPECT_GE(info.subgroup_size, 1u);
  EXPECT_GE(info.max_workgroup_invocations, 256u);
  grl_device_info d0;
  ASSERT_GRL_OK(grl_device_describe(info.index, &d0));
  EXPECT_STREQ(d0.name, info.name);
  EXPECT_GRL_ERROR(grl_device_describe(n + 5, &d0), GRL_ERROR_INVALID_ARGUMENT, "out of range");
}

TEST_F(Core, DeviceChoiceOptions) {
  grl_device_options o = GRL_DEVICE_OPTIONS_INIT;
  grl_device d = nullptr;
  o.name_contains = "no-such-device-name";
  EXPECT_GRL_ERROR(grl_device_create(&o, &d), GRL_ERROR_NO_DEVICE, "no-such-device-name");
  EXPECT_EQ(d, nullptr);
  o = GRL_DEVICE_OPTIONS_INIT;
  o.index = 999;
  EXPECT_GRL_ERROR(grl_device_create(&o, &d), GRL_ERROR_NO_DEVICE, "999");
  grl_device_info info;
  ASSERT_GRL_OK(grl_device_get_info(dev, &info));
  if (info.type == GRL_DEVICE_CPU) {
    o = GRL_DEVICE_OPTIONS_INIT;
    o.index = static_cast<int32_t>(info.index);
    o.allow_cpu = 0;
    EXPECT_GRL_ERROR(grl_device_create(&o, &d), GRL_ERROR_NO_DEVICE, "CPU");
  }
  o = GRL_DEVICE_OPTIONS_INIT;
  o.version = 77;
  EXPECT_GRL_ERROR(grl_device_create(&o, &d), GRL_ERROR_INVALID_ARGUMENT, "version");
}

TEST_F(Core, TwoDevicesAtOnceAndCrossDeviceError) {
  grl_device_options o = GRL_DEVICE_OPTIONS_INIT;
  o.validation = 1;
  grl_device d2 = nullptr;
  ASSERT_GRL_OK(grl_device_create(&o, &d2));
  Host a = Host::random({5}, rng());
  T ta(upload(dev, a)), tb(upload(d2, a)), out;
  EXPECT_GRL_ERROR(grl_add(ta, tb, out.out()), GRL_ERROR_DEVICE_MISMATCH, "on another device");
  T local;
  ASSERT_GRL_OK(grl_add(tb, tb, local.out()));
  Host r = download(local);
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(r[i], 2 * static_cast<float>(a[i]));
  // The tensor keeps its device alive after the caller's reference is gone.
  grl_device_release(d2);
  Host again = download(local);
  EXPECT_EQ(again.v, r.v);
}

TEST_F(Core, LiveHandleCountsFollowCreateAndRelease) {
  grl_live_handles before{}, during{}, after{};
  ASSERT_GRL_OK(grl_live_handle_counts(&before));
  EXPECT_GE(before.devices, 1);
  int64_t shape[1] = {8};
  grl_tensor a = nullptr, v = nullptr;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, shape, 1, &a));
  ASSERT_GRL_OK(grl_reshape(a, shape, 1, &v));  // a view is a handle of its own
  ASSERT_GRL_OK(grl_live_handle_counts(&during));
  EXPECT_EQ(during.tensors, before.tensors + 2);
  grl_tensor_release(a);
  grl_tensor_release(v);
  ASSERT_GRL_OK(grl_live_handle_counts(&after));
  EXPECT_EQ(after.tensors, before.tensors);
  EXPECT_EQ(after.devices, before.devices);
  EXPECT_GRL_ERROR(grl_live_handle_counts(nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
}

TEST_F(Core, UploadDownloadRoundTripAllDtypes) {
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64, GRL_U8}) {
    Host h = Host::random({3, 7}, rng(), 0, 100);
    for (auto& x : h.v) x = round_to(dt, x);
    T t(upload(dev, h, dt));
    EXPECT_EQ(grl_tensor_dtype(t), dt);
    EXPECT_EQ(grl_tensor_numel(t), 21);
    Host back = download(t);
    EXPECT_EQ(back.v, h.v) << grl_dtype_name(dt);
  }
}

TEST_F(Core, ByteCountsAreChecked) {
  int64_t shape[2] = {2, 3};
  float data[6] = {1, 2, 3, 4, 5, 6};
  grl_tensor t = nullptr;
  EXPECT_GRL_ERROR(grl_tensor_from_host(dev, GRL_F32, shape, 2, data, 20, &t), GRL_ERROR_INVALID_ARGUMENT,
                   "nbytes is 20");
  EXPECT_EQ(t, nullptr);
  T ok;
  ASSERT_GRL_OK(grl_tensor_from_host(dev, GRL_F32, shape, 2, data, sizeof data, ok.out()));
  float back[6];
  EXPECT_GRL_ERROR(grl_tensor_download(ok, back, 8), GRL_ERROR_INVALID_ARGUMENT, "holds 24 bytes");
  EXPECT_GRL_ERROR(grl_tensor_upload(ok, data, 4), GRL_ERROR_INVALID_ARGUMENT, "nbytes is 4");
  EXPECT_GRL_ERROR(grl_tensor_download(nullptr, back, 24), GRL_ERROR_NULL_ARGUMENT, "'tensor'");
  int64_t bad[1] = {-3};
  EXPECT_GRL_ERROR(grl_tensor_zeros(dev, GRL_F32, bad, 1, &t), GRL_ERROR_SHAPE, ">= 0");
  EXPECT_GRL_ERROR(grl_tensor_zeros(dev, static_cast<grl_dtype>(42), shape, 2, &t), GRL_ERROR_DTYPE, "42");
  EXPECT_GRL_ERROR(grl_tensor_zeros(dev, GRL_F32, shape, 9, &t), GRL_ERROR_SHAPE, "9 dims");
  EXPECT_GRL_ERROR(grl_tensor_zeros(nullptr, GRL_F32, shape, 2, &t), GRL_ERROR_NULL_ARGUMENT, "'device'");
  EXPECT_GRL_ERROR(grl_tensor_zeros(dev, GRL_F32, shape, 2, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  // The message is cleared by the next successful call.
  T z;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, shape, 2, z.out()));
  EXPECT_STREQ(grl_last_error_message(), "");
  EXPECT_EQ(grl_last_error_status(), GRL_OK);
}

TEST_F(Core, ZerosScalarsAndEmpty) {
  int64_t shape[3] = {4, 0, 3};
  T e;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, shape, 3, e.out()));
  EXPECT_EQ(grl_tensor_numel(e), 0);
  Host he = download(e);
  EXPECT_TRUE(he.v.empty());
  T s;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, nullptr, 0, s.out()));
  EXPECT_EQ(grl_tensor_numel(s), 1);
  ASSERT_GRL_OK(grl_tensor_fill_(s, 2.5));
  EXPECT_EQ(download(s).v, std::vector<double>{2.5});
  int64_t big[2] = {513, 257};
  T z;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_I64, big, 2, z.out()));
  Host hz = download(z);
  for (double x : hz.v) ASSERT_EQ(x, 0.0);
}

TEST_F(Core, FillEveryDtype) {
  int64_t shape[2] = {3, 301};
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64, GRL_U8}) {
    T t;
    ASSERT_GRL_OK(grl_tensor_empty(dev, dt, shape, 2, t.out()));
    ASSERT_GRL_OK(grl_tensor_fill_(t, 7.0));
    Host h = download(t);
    for (double x : h.v) ASSERT_EQ(x, 7.0) << grl_dtype_name(dt);
  }
}

TEST_F(Core, ViewsShareStorageWithoutCopies) {
  Host h = Host::random({2, 3, 4}, rng());
  T x(upload(dev, h));
  // transpose(0, 2): [4, 3, 2] with permuted strides
  T t;
  ASSERT_GRL_OK(grl_transpose(x, 0, 2, t.out()));
  EXPECT_EQ(grl_tensor_dim(t, 0), 4);
  EXPECT_EQ(grl_tensor_stride(t, 0), 1);
  EXPECT_EQ(grl_tensor_stride(t, 2), 12);
  EXPECT_FALSE(grl_tensor_is_contiguous(t));
  Host ht = download(t);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) ASSERT_EQ(ht[(i * 3 + j) * 2 + k], static_cast<float>(h[(k * 3 + j) * 4 + i]));
  // permute
  int32_t axes[3] = {1, 2, 0};
  T p;
  ASSERT_GRL_OK(grl_permute(x, axes, 3, p.out()));
  Host hp = download(p);
  for (int j = 0; j < 3; ++j)
    for (int k = 0; k < 4; ++k)
      for (int i = 0; i < 2; ++i) ASSERT_EQ(hp[(j * 4 + k) * 2 + i], static_cast<float>(h[(i * 3 + j) * 4 + k]));
  // slice with a step
  T s;
  ASSERT_GRL_OK(grl_slice(x, 2, 1, 4, 2, s.out()));
  Host hs = download(s);
  ASSERT_EQ(hs.shape, (Shape{2, 3, 2}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) ASSERT_EQ(hs[(i * 3 + j) * 2 + k], static_cast<float>(h[(i * 3 + j) * 4 + 1 + 2 * k]));
  // expand
  Host row = Host::random({1, 4}, rng());
  T r(upload(dev, row)), ex;
  int64_t es[3] = {2, 3, 4};
  ASSERT_GRL_OK(grl_expand(r, es, 3, ex.out()));
  EXPECT_EQ(grl_tensor_stride(ex, 0), 0);
  Host hex = download(ex);
  for (int i = 0; i < 24; ++i) ASSERT_EQ(hex[i], static_cast<float>(row[i % 4]));
  // writes through a view show in the source
  T sl, ones;
  ASSERT_GRL_OK(grl_slice(x, 0, 1, 2, 1, sl.out()));
  ASSERT_GRL_OK(grl_tensor_fill_(sl, 1.0));
  Host after = download(x);
  for (int i = 0; i < 24; ++i) ASSERT_EQ(after[i], i >= 12 ? 1.0 : static_cast<float>(h[i]));
  // reshape of a contiguous tensor is a view; of a transposed one a copy
  int64_t rs[2] = {-1, 6};
  T v, c;
  ASSERT_GRL_OK(grl_reshape(x, rs, 2, v.out()));
  EXPECT_EQ(grl_tensor_dim(v, 0), 4);
  ASSERT_GRL_OK(grl_reshape(t, rs, 2, c.out()));
  Host hc = download(c);
  EXPECT_EQ(hc.v, download(t).v);
  int64_t bad[2] = {5, 5};
  EXPECT_GRL_ERROR(grl_reshape(x, bad, 2, c.out()), GRL_ERROR_SHAPE, "25 elements");
  EXPECT_GRL_ERROR(grl_transpose(x, 0, 3, c.out()), GRL_ERROR_INVALID_ARGUMENT, "axis1");
}

TEST_F(Core, SqueezeUnsqueezeContiguousClone) {
  Host h = Host::random({3, 1, 4}, rng());
  T x(upload(dev, h)), sq, us, tr, cont, cl;
  ASSERT_GRL_OK(grl_squeeze(x, 1, sq.out()));
  EXPECT_EQ(grl_tensor_ndim(sq), 2);
  EXPECT_GRL_ERROR(grl_squeeze(x, 0, us.out()), GRL_ERROR_SHAPE, "size-1");
  ASSERT_GRL_OK(grl_unsqueeze(sq, -1, us.out()));
  EXPECT_EQ(grl_tensor_dim(us, 2), 1);
  EXPECT_EQ(download(us).v, download(x).v);
  ASSERT_GRL_OK(grl_transpose(sq, 0, 1, tr.out()));
  ASSERT_GRL_OK(grl_contiguous(tr, cont.out()));
  EXPECT_TRUE(grl_tensor_is_contiguous(cont));
  Host hc = download(cont);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) ASSERT_EQ(hc[i * 3 + j], static_cast<float>(h[j * 4 + i]));
  ASSERT_GRL_OK(grl_clone(x, cl.out()));
  ASSERT_GRL_OK(grl_tensor_fill_(cl, 0.0));
  EXPECT_EQ(download(x).v, download(us).v);  // the source is untouched by writes to the clone
}

TEST_F(Core, CastBetweenDtypes) {
  Host h = Host::random({37}, rng(), -50, 50);
  T x(upload(dev, h));
  for (grl_dtype dt : {GRL_F16, GRL_BF16, GRL_I32, GRL_I64, GRL_F32}) {
    T c;
    ASSERT_GRL_OK(grl_cast(x, dt, c.out()));
    Host hc = download(c);
    for (int i = 0; i < 37; ++i) {
      double want = dt == GRL_I32 || dt == GRL_I64 ? std::trunc(static_cast<float>(h[i]))
                                                   : round_to(dt, static_cast<float>(h[i]));
      ASSERT_EQ(hc[i], want) << grl_dtype_name(dt) << " at " << i;
    }
  }
}

TEST_F(Core, CopyIntoViewWithBroadcast) {
  int64_t shape[2] = {4, 5};
  T dst;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, shape, 2, dst.out()));
  Host row = Host::random({5}, rng());
  T src(upload(dev, row)), sl;
  ASSERT_GRL_OK(grl_slice(dst, 0, 1, 4, 2, sl.out()));  // rows 1 and 3
  ASSERT_GRL_OK(grl_copy_(sl, src));
  Host h = download(dst);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 5; ++j) ASSERT_EQ(h[i * 5 + j], (i % 2 == 1) ? static_cast<float>(row[j]) : 0.0);
  int64_t bad[1] = {3};
  T wrong;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, bad, 1, wrong.out()));
  EXPECT_GRL_ERROR(grl_copy_(dst, wrong), GRL_ERROR_SHAPE, "broadcast");
}

TEST_F(Core, UploadIntoNonContiguousView) {
  int64_t shape[2] = {3, 4};
  T base, tr;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, shape, 2, base.out()));
  ASSERT_GRL_OK(grl_transpose(base, 0, 1, tr.out()));
  float data[12];
  for (int i = 0; i < 12; ++i) data[i] = static_cast<float>(i);
  ASSERT_GRL_OK(grl_tensor_upload(tr, data, sizeof data));  // tr is [4, 3]
  Host h = download(base);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) ASSERT_EQ(h[i * 4 + j], data[j * 3 + i]);
}

TEST_F(Core, PoolReusesMemoryAndReturnsToStart) {
  ASSERT_GRL_OK(grl_device_synchronize(dev));
  grl_memory_stats before, after;
  ASSERT_GRL_OK(grl_device_memory_stats(dev, &before));
  Host h = Host::random({1000}, rng());
  T x(upload(dev, h));
  for (int i = 0; i < 2000; ++i) {
    grl_tensor y = nullptr;
    ASSERT_GRL_OK(grl_add(x, x, &y));
    grl_tensor_release(y);
  }
  x = T();
  ASSERT_GRL_OK(grl_device_synchronize(dev));
  ASSERT_GRL_OK(grl_device_memory_stats(dev, &after));
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use);
  EXPECT_GE(after.pool_hits - before.pool_hits, 1990u);
  EXPECT_LE(after.bytes_reserved - before.bytes_reserved, 64u * 1024u);
  ASSERT_GRL_OK(grl_device_empty_cache(dev));
  ASSERT_GRL_OK(grl_device_memory_stats(dev, &after));
  EXPECT_EQ(after.bytes_cached, 0u);
}

TEST_F(Core, DeferredExecutionBatchesSubmissions) {
  ASSERT_GRL_OK(grl_device_synchronize(dev));
  grl_memory_stats before, after;
  ASSERT_GRL_OK(grl_device_memory_stats(dev, &before));
  Host h = Host::random({64}, rng());
  T x(upload(dev, h));
  T acc(upload(dev, h));
  for (int i = 0; i < 200; ++i) {
    T next;
    ASSERT_GRL_OK(grl_add(acc, x, next.out()));
    acc = std::move(next);
  }
  ASSERT_GRL_OK(grl_device_memory_stats(dev, &after));
  EXPECT_EQ(after.submissions, before.submissions) << "ops must not submit (or wait) one by one";
  Host r = download(acc);
  for (int i = 0; i < 64; ++i) {
    float ref = static_cast<float>(h[i]);
    float a = ref;
    for (int k = 0; k < 200; ++k) a += ref;
    ASSERT_NEAR(r[i], a, 1e-3 * std::abs(a) + 1e-4);
  }
}

TEST_F(Core, ConcurrentOpsFromThreads) {
  Host h = Host::random({257}, rng());
  T x(upload(dev, h));
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int i = 0; i < 50; ++i) {
        grl_tensor y = nullptr;
        if (grl_mul_scalar(x, k + 1.0, &y) != GRL_OK) ++failures[k];
        std::vector<float> out(257);
        if (grl_tensor_download(y, out.data(), out.size() * 4) != GRL_OK) ++failures[k];
        for (int j = 0; j < 257; ++j)
          if (out[j] != static_cast<float>(static_cast<float>(h[j]) * (k + 1.0f))) ++failures[k];
        grl_tensor_release(y);
      }
    });
  for (auto& t : threads) t.join();
  for (int k = 0; k < 4; ++k) EXPECT_EQ(failures[k], 0);
}
