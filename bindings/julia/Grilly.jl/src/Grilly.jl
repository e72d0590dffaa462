# Grilly.jl: the idiomatic Julia layer over LibGrilly (devices, tensors, ops, autograd, graphs).
# Handles are owned by mutable structs whose finalizers only release; `close` releases early.
"""
    Grilly

Julia interface to grilly, a Vulkan compute library for neural networks.

Layout: grilly is row-major, Julia column-major. A `Tensor{T,N}` presents the C tensor with its
dimensions **reversed**: C shape `[d0, d1, ..., d(N-1)]` is Julia `size` `(d(N-1), ..., d1, d0)`,
and Julia element `t[i, j, k]` is C element `[k-1][j-1][i-1]`. The two layouts then have the same
bytes, so `Tensor(A)` and `Array(t)` copy memory as-is, and Julia conventions carry over: dims
are counted from the first (fastest) one, broadcasting aligns leading dims, matrices are
(features, batch), and `A * B` on matrices is Julia's matrix product (computed as
`grl_matmul(B, A)` in C order). Julia dim `d` of an `N`-d tensor is C axis `N - d`.
"""
module Grilly

include("LibGrilly.jl")
using .LibGrilly
const L = LibGrilly
import .LibGrilly: GrillyError

export GrillyError, Device, Tensor, default_device, synchronize, device_info, devicename, memory_stats,
       relu, leaky_relu, elu, gelu, silu, sigmoid, softplus, mish, softmax, log_softmax,
       mean, logsumexp, linear, matmul, dropout, one_hot, argmaxdim, where_,
       mse_loss, l1_loss, cross_entropy, nll_loss, bce_with_logits,
       requires_grad!, requires_grad, grad, backward!, zero_grad!, detach, no_grad,
       kaiming_uniform!, xavier_uniform!, rand_uniform, rand_normal, fill!, zeros_like,
       Graph, capture, input!, output!, bind!, replay!, output, Optim

# ---------------------------------------------------------------------------------------------
# Element types
# ---------------------------------------------------------------------------------------------
const DTYPES = Dict{DataType,L.grl_dtype}(Float32 => L.GRL_F32, Float16 => L.GRL_F16,
                                          Int32 => L.GRL_I32, Int64 => L.GRL_I64, UInt8 => L.GRL_U8)
const ELTYPES = Dict{L.grl_dtype,DataType}(v => k for (k, v) in DTYPES)

"""The grilly dtype of a Julia element type (Float32, Float16, Int32, Int64, UInt8)."""
function dtype(::Type{T}) where {T}
    haskey(DTYPES, T) || throw(ArgumentError("grilly has no dtype for $T; use one of $(collect(keys(DTYPES)))"))
    return DTYPES[T]
end

# ---------------------------------------------------------------------------------------------
# Devices
# ---------------------------------------------------------------------------------------------
"""
    Device(; index=-1, name=nothing, allow_cpu=-1, validation=-1)

Opens a Vulkan device (`grl_device_create`). `index >= 0` picks that enumeration index, `name`
the first device whose name contains it; the defaults follow VK_GPU_INDEX, VK_GPU_NAME and
ALLOW_CPU_VULKAN. Released by its finalizer (`grl_device_release`) or by `close`.
"""
mutable struct Device
    handle::L.grl_device
    function Device(handle::L.grl_device)
        d = new(handle)
        finalizer(d -> L.grl_device_release(d.handle), d)
        return d
    end
end

function Device(; index::Integer=-1, name::Union{Nothing,AbstractString}=nothing,
                allow_cpu::Integer=-1, validation::Integer=-1)
    cname = name === nothing ? nothing : Base.cconvert(Cstring, String(name))
    h = GC.@preserve cname begin
        ptr = cname === nothing ? Ptr{Cchar}(C_NULL) : Ptr{Cchar}(pointer(cname))
        opts = Ref(L.grl_device_options(L.GRL_DEVICE_OPTIONS_VERSION, index, ptr, allow_cpu, validation))
        L.grl_device_create(opts)
    end
    return Device(h)
end

"""Releases the device now (`grl_device_release`); idempotent. Tensors keep it alive in C."""
function Base.close(d::Device)
    h = d.handle
    d.handle = L.grl_device(C_NULL)
    L.grl_device_release(h)
    return nothing
end

const DEFAULT_DEVICE = Ref{Union{Nothing,Device}}(nothing)
const DEFAULT_LOCK = ReentrantLock()

"""The device `Tensor(A)` uses when none is given: opened on first use with the defaults."""
function default_device()
    lock(DEFAULT_LOCK) do
        d = DEFAULT_DEVICE[]
        if d === nothing || d.handle == C_NULL
            d = Device()
            DEFAULT_DEVICE[] = d
        end
        return d
    end
end

handle(d::Device) = (d.handle == C_NULL && throw(ArgumentError("device is closed")); d.handle)

"""Waits for all recorded work (`grl_device_synchronize`); reports errors found on the device."""
synchronize(d::Device=default_device()) = L.grl_device_synchronize(handle(d))

"""`grl_device_get_info`: a `LibGrilly.grl_device_info` (its `name` is a byte tuple; see `devicename`)."""
device_info(d::Device=default_device()) = L.grl_device_get_info(handle(d))
"""The device's name (`grl_device_get_info`)."""
function devicename(d::Device=default_device())
    bytes = UInt8[c % UInt8 for c in device_info(d).name]
    n = something(findfirst(==(0x00), bytes), length(bytes) + 1) - 1
    return String(bytes[1:n])
end
"""`grl_device_memory_stats`."""
memory_stats(d::Device=default_device()) = L.grl_device_memory_stats(handle(d))

# ---------------------------------------------------------------------------------------------
# Tensors
# ---------------------------------------------------------------------------------------------
"""
    Tensor{T,N}

An `N`-d grilly tensor of element type `T` (Julia dims: the C shape reversed, see `Grilly`).
Owns one reference (`grl_tensor_release` in its finalizer or `close`).
"""
mutable struct Tensor{T,N}
    handle::L.grl_tensor
    function Tensor{T,N}(h::L.grl_tensor) where {T,N}
        t = new{T,N}(h)
        finalizer(t -> L.grl_tensor_release(t.handle), t)
        return t
    end
end

"""Wraps a handle returned by grilly (taking its reference) with its dtype and rank."""
function wrap(h::L.grl_tensor)
    T = ELTYPES[L.grl_tensor_dtype(h)]
    N = Int(L.grl_tensor_ndim(h))
    return Tensor{T,N}(h)
end

handle(t::Tensor) = (t.handle == C_NULL && throw(ArgumentError("tensor is closed")); t.handle)

"""Releases the tensor now (`grl_tensor_release`); idempotent."""
function Base.close(t::Tensor)
    h = t.handle
    t.handle = L.grl_tensor(C_NULL)
    L.grl_tensor_release(h)
    return nothing
end

cshape(dims) = Int64[reverse(Tuple(dims))...]

"""
    Tensor(A::Array; device=default_device())

Uploads `A` (`grl_tensor_from_host`). The C shape is `reverse(size(A))`, so the bytes are copied
as they are.
"""
function Tensor(A::Array{T,N}; device::Device=default_device()) where {T,N}
    shape = cshape(size(A))
    h = L.grl_tensor_from_host(handle(device), dtype(T), shape, Int32(N), A, Csize_t(sizeof(A)))
    return Tensor{T,N}(h)
end
Tensor(A::AbstractArray; kw...) = Tensor(collect(A); kw...)
Tensor(x::Number; kw...) = Tensor(fill(x); kw...)

"""`Tensor{T}(undef, dims...)` (`grl_tensor_empty`) and `zeros(Tensor{T}, dims...)` (`grl_tensor_zeros`)."""
function Tensor{T}(::UndefInitializer, dims::Integer...; device::Device=default_device()) where {T}
    return Tensor{T,length(dims)}(L.grl_tensor_empty(handle(device), dtype(T), cshape(dims), Int32(length(dims))))
end
function Base.zeros(::Type{Tensor{T}}, dims::Integer...; device::Device=default_device()) where {T}
    return Tensor{T,length(dims)}(L.grl_tensor_zeros(handle(device), dtype(T), cshape(dims), Int32(length(dims))))
end
"""`grl_full`."""
function Base.fill(x::Number, ::Type{Tensor{T}}, dims::Integer...; device::Device=default_device()) where {T}
    h = L.grl_full(handle(device), cshape(dims), Int32(length(dims)), Float64(x), dtype(T))
    return Tensor{T,length(dims)}(h)
end
zeros_like(t::Tensor{T}) where {T} = zeros(Tensor{T}, size(t)...; device=device(t))

Base.eltype(::Type{<:Tensor{T}}) where {T} = T
Base.ndims(::Type{<:Tensor{T,N}}) where {T,N} = N
Base.ndims(::Tensor{T,N}) where {T,N} = N
"""Julia size (the C shape reversed; `grl_tensor_shape`)."""
Base.size(t::Tensor) = Tuple(Int.(reverse(L.grl_tensor_shape(handle(t)))))
Base.size(t::Tensor, d::Integer) = d <= ndims(t) ? size(t)[d] : 1
"""`grl_tensor_numel`."""
Base.length(t::Tensor) = Int(L.grl_tensor_numel(handle(t)))
"""The tensor's device (`grl_tensor_device`, retained so the `Device` owns a reference)."""
function device(t::Tensor)
    h = L.grl_tensor_device(handle(t))
    L.grl_device_retain(h)
    return Device(h)
end
Base.show(io::IO, t::Tensor{T,N}) where {T,N} =
    print(io, "Tensor{$T,$N}(", t.handle == C_NULL ? "closed" : join(size(t), "×"), ")")

"""`Array(t)`: downloads the tensor (`grl_tensor_download`; waits for the device)."""
function Base.Array(t::Tensor{T,N}) where {T,N}
    A = Array{T,N}(undef, size(t))
    L.grl_tensor_download(handle(t), A, Csize_t(sizeof(A)))
    return A
end
Base.Array{T,N}(t::Tensor{T,N}) where {T,N} = Array(t)
Base.collect(t::Tensor) = Array(t)
"""`t[]`: the value of a one-element tensor (`grl_tensor_download`)."""
Base.getindex(t::Tensor) = (length(t) == 1 || throw(ArgumentError("t[] needs one element, t has $(length(t))")); Array(t)[1])

"""`copyto!(t, A)` uploads (`grl_tensor_upload`); `copyto!(A, t)` downloads (`grl_tensor_download`)."""
function Base.copyto!(t::Tensor{T}, A::Array{T}) where {T}
    size(A) == size(t) || throw(DimensionMismatch("copyto!: array of size $(size(A)) into tensor of size $(size(t))"))
    L.grl_tensor_upload(handle(t), A, Csize_t(sizeof(A)))
    return t
end
function Base.copyto!(A::Array{T}, t::Tensor{T}) where {T}
    size(A) == size(t) || throw(DimensionMismatch("copyto!: tensor of size $(size(t)) into array of size $(size(A))"))
    L.grl_tensor_download(handle(t), A, Csize_t(sizeof(A)))
    return A
end
"""`copyto!(dst, src)` between tensors (`grl_copy_`, broadcasting src, converting dtype)."""
Base.copyto!(dst::Tensor, src::Tensor) = (L.grl_copy_(handle(dst), handle(src)); dst)
"""`grl_tensor_fill_`."""
Base.fill!(t::Tensor, x::Number) = (L.grl_tensor_fill_(handle(t), Float64(x)); t)

# Layout ops (Julia dims mapped to C axes).
caxis(N, d::Integer) = Int32(N - d)
"""`reshape(t, dims...)` in Julia order (`grl_reshape`; -1 is not accepted, use `:`)."""
function Base.reshape(t::Tensor, dims::Union{Integer,Colon}...)
    shape = Int64[d isa Colon ? -1 : d for d in reverse(dims)]
    return wrap(L.grl_reshape(handle(t), shape, Int32(length(shape))))
end
"""`permutedims(t, perm)` (`grl_permute`): Julia permutation mapped to C axes."""
function Base.permutedims(t::Tensor{T,N}, perm) where {T,N}
    # Julia result dim i takes source dim perm[i]; in C order, result axis N-i takes axis N-perm[i].
    axes_c = Int32[N - perm[N - a] for a in 0:N-1]
    return wrap(L.grl_permute(handle(t), axes_c, Int32(N)))
end
"""`transpose`/`adjoint` of a matrix (`grl_transpose`; a view)."""
Base.transpose(t::Tensor{T,2}) where {T} = wrap(L.grl_transpose(handle(t), Int32(0), Int32(1)))
Base.adjoint(t::Tensor{T,2}) where {T<:Real} = transpose(t)
"""`grl_cast`."""
Base.convert(::Type{Tensor{S}}, t::Tensor{T,N}) where {S,T,N} = wrap(L.grl_cast(handle(t), dtype(S)))
"""`grl_clone`."""
Base.copy(t::Tensor) = wrap(L.grl_clone(handle(t)))
"""`grl_contiguous`."""
contiguous(t::Tensor) = wrap(L.grl_contiguous(handle(t)))

# ---------------------------------------------------------------------------------------------
# Elementwise ops. Binary ops broadcast like Julia (leading dims align, which is C's trailing).
# ---------------------------------------------------------------------------------------------
const BINARY = ((:+, :grl_add, :grl_add_scalar, :grl_add_scalar),
                (:-, :grl_sub, :grl_sub_scalar, :grl_rsub_scalar),
                (:*, :grl_mul, :grl_mul_scalar, :grl_mul_scalar),
                (:/, :grl_div, :grl_div_scalar, :grl_rdiv_scalar),
                (:^, :grl_pow, :grl_pow_scalar, :grl_rpow_scalar),
                (:min, :grl_minimum, :grl_minimum_scalar, :grl_minimum_scalar),
                (:max, :grl_maximum, :grl_maximum_scalar, :grl_maximum_scalar))
for (op, tt, ts, st) in BINARY
    @eval begin
        Base.broadcasted(::typeof($op), a::Tensor, b::Tensor) = wrap(L.$tt(handle(a), handle(b)))
        Base.broadcasted(::typeof($op), a::Tensor, s::Number) = wrap(L.$ts(handle(a), Float64(s)))
        Base.broadcasted(::typeof($op), s::Number, a::Tensor) = wrap(L.$st(handle(a), Float64(s)))
    end
end
const COMPARE = ((:(==), :grl_eq, :grl_eq_scalar, :grl_eq_scalar), (:!=, :grl_ne, :grl_ne_scalar, :grl_ne_scalar),
                 (:<, :grl_lt, :grl_lt_scalar, :grl_gt_scalar), (:<=, :grl_le, :grl_le_scalar, :grl_ge_scalar),
                 (:>, :grl_gt, :grl_gt_scalar, :grl_lt_scalar), (:>=, :grl_ge, :grl_ge_scalar, :grl_le_scalar))
for (op, tt, ts, st) in COMPARE
    @eval begin
        Base.broadcasted(::typeof($op), a::Tensor, b::Tensor) = wrap(L.$tt(handle(a), handle(b)))
        Base.broadcasted(::typeof($op), a::Tensor, s::Number) = wrap(L.$ts(handle(a), Float64(s)))
        Base.broadcasted(::typeof($op), s::Number, a::Tensor) = wrap(L.$st(handle(a), Float64(s)))
    end
end
# Broadcasting calls are evaluated eagerly, one grilly op per dot call (the methods above and
# below). Anything else would need the elements on the host: say so instead of copying silently.
Base.Broadcast.broadcastable(t::Tensor) = throw(ArgumentError(
    "broadcasting a Tensor works only through the ops Grilly defines (+ - * / ^ min max, comparisons, " *
    "abs exp log sqrt sin cos tanh clamp, relu sigmoid ...), with Tensors and numbers; " *
    "use Tensor(A) for arrays or Array(t) to compute on the host"))
# `t .^ 2` lowers to literal_pow.
Base.broadcasted(::typeof(Base.literal_pow), ::typeof(^), a::Tensor, ::Val{p}) where {p} = Base.broadcasted(^, a, p)
# Array-style operators: + and - are elementwise for equal shapes (as for Julia arrays).
"""
Elementwise operators, by broadcasting (`a .+ b`, `a .* 2`, `2 .- a`, `a .< b`, `min.(a, b)`):
`+` `grl_add`/`grl_add_scalar`, `-` `grl_sub`/`grl_sub_scalar`/`grl_rsub_scalar`, `*` `grl_mul`,
`/` `grl_div`/`grl_rdiv_scalar`, `^` `grl_pow`/`grl_rpow_scalar`, `min`/`max` `grl_minimum`/
`grl_maximum`, comparisons `grl_eq` ... `grl_ge` (UInt8 masks). `a + b` and `a - b` are the same
as `a .+ b` and `a .- b`; `a * b` on matrices is the matrix product.
"""
Base.:+(a::Tensor, b::Tensor) = a .+ b
Base.:-(a::Tensor, b::Tensor) = a .- b
Base.:*(a::Tensor, s::Number) = a .* s
Base.:*(s::Number, a::Tensor) = a .* s
Base.:/(a::Tensor, s::Number) = a ./ s
"""`-t` (`grl_neg`)."""
Base.:-(a::Tensor) = wrap(L.grl_neg(handle(a)))
Base.broadcasted(::typeof(-), a::Tensor) = -a

"""`A * B` on matrices and matrix-vector: Julia's product (`grl_matmul(B, A)` in C order)."""
Base.:*(a::Tensor{T,2}, b::Tensor{T,2}) where {T} = wrap(L.grl_matmul(handle(b), handle(a)))
Base.:*(a::Tensor{T,2}, b::Tensor{T,1}) where {T} = wrap(L.grl_matmul(handle(b), handle(a)))
"""`matmul(a, b)`: C's `grl_matmul(a, b)` with numpy semantics in C order (batch dims last in Julia)."""
matmul(a::Tensor, b::Tensor) = wrap(L.grl_matmul(handle(a), handle(b)))

# Unary math: elementwise through broadcasting (`exp.(t)`), as exp(matrix) means something else.
for (f, c) in ((:abs, :grl_abs), (:exp, :grl_exp), (:log, :grl_log), (:sqrt, :grl_sqrt),
               (:sin, :grl_sin), (:cos, :grl_cos), (:tanh, :grl_tanh))
    @eval Base.broadcasted(::typeof($f), a::Tensor) = wrap(L.$c(handle(a)))
end
"""`clamp.(t, lo, hi)` (`grl_clamp`)."""
Base.broadcasted(::typeof(clamp), a::Tensor, lo::Real, hi::Real) = wrap(L.grl_clamp(handle(a), Float64(lo), Float64(hi)))
"""`where_(cond, a, b)`: `cond ? a : b` elementwise (`grl_where`; cond a UInt8 mask)."""
where_(cond::Tensor{UInt8}, a::Tensor, b::Tensor) = wrap(L.grl_where(handle(cond), handle(a), handle(b)))

# Activations: elementwise functions of a tensor, also callable with dot syntax.
"""`relu(t)` (`grl_relu`)."""
relu(t::Tensor) = wrap(L.grl_relu(handle(t)))
"""`sigmoid(t)` (`grl_sigmoid`)."""
sigmoid(t::Tensor) = wrap(L.grl_sigmoid(handle(t)))
"""`silu(t)` (`grl_silu`)."""
silu(t::Tensor) = wrap(L.grl_silu(handle(t)))
"""`mish(t)` (`grl_mish`)."""
mish(t::Tensor) = wrap(L.grl_mish(handle(t)))
"""`leaky_relu(t, slope=0.01)` (`grl_leaky_relu`)."""
leaky_relu(t::Tensor, slope::Real=0.01) = wrap(L.grl_leaky_relu(handle(t), Float64(slope)))
"""`elu(t, alpha=1)` (`grl_elu`)."""
elu(t::Tensor, alpha::Real=1.0) = wrap(L.grl_elu(handle(t), Float64(alpha)))
"""`gelu(t; tanh=false)` (`grl_gelu`)."""
gelu(t::Tensor; tanh::Bool=false) = wrap(L.grl_gelu(handle(t), tanh ? L.GRL_GELU_TANH : L.GRL_GELU_EXACT))
"""`softplus(t; beta=1, threshold=20)` (`grl_softplus`)."""
softplus(t::Tensor; beta::Real=1.0, threshold::Real=20.0) = wrap(L.grl_softplus(handle(t), Float64(beta), Float64(threshold)))
for f in (:relu, :sigmoid, :silu, :mish, :leaky_relu, :elu, :gelu, :softplus)
    @eval Base.broadcasted(::typeof($f), t::Tensor, args...) = $f(t, args...)
end
relu(x::Real) = max(x, zero(x))
sigmoid(x::Real) = one(x) / (one(x) + exp(-x))

"""`softmax(t; dims=1)` (`grl_softmax`) along one Julia dim (default the first: C's last)."""
softmax(t::Tensor{T,N}; dims::Integer=1) where {T,N} = wrap(L.grl_softmax(handle(t), caxis(N, dims)))
"""`log_softmax(t; dims=1)` (`grl_log_softmax`)."""
log_softmax(t::Tensor{T,N}; dims::Integer=1) where {T,N} = wrap(L.grl_log_softmax(handle(t), caxis(N, dims)))

# ---------------------------------------------------------------------------------------------
# Reductions: dims=: gives a 0-d tensor (read it with t[]); dims=d keeps d as size 1 (as Julia).
# ---------------------------------------------------------------------------------------------
caxes(N, ::Colon) = Int32[]
caxes(N, dims) = Int32[caxis(N, d) for d in dims]
for (f, c) in ((:sum, :grl_sum), (:maximum, :grl_max), (:minimum, :grl_min))
    @eval function Base.$f(t::Tensor{T,N}; dims=:) where {T,N}
        ax = caxes(N, dims)
        return wrap(L.$c(handle(t), ax, Int32(length(ax)), UInt32(dims isa Colon ? 0 : 1)))
    end
end
"""`mean(t; dims=:)` (`grl_mean`)."""
function mean(t::Tensor{T,N}; dims=:) where {T,N}
    ax = caxes(N, dims)
    return wrap(L.grl_mean(handle(t), ax, Int32(length(ax)), UInt32(dims isa Colon ? 0 : 1)))
end
"""`logsumexp(t; dims=:)` (`grl_logsumexp`)."""
function logsumexp(t::Tensor{T,N}; dims=:) where {T,N}
    ax = caxes(N, dims)
    return wrap(L.grl_logsumexp(handle(t), ax, Int32(length(ax)), UInt32(dims isa Colon ? 0 : 1)))
end
"""`argmaxdim(t, d)`: 1-based indices of the maxima along Julia dim `d` (`grl_argmax`, plus 1),
with `d` dropped, as an `Array{Int64}`."""
function argmaxdim(t::Tensor{T,N}, d::Integer) where {T,N}
    idx = wrap(L.grl_argmax(handle(t), caxis(N, d), UInt32(0)))
    try
        return Array(idx) .+ 1
    finally
        close(idx)
    end
end

# ---------------------------------------------------------------------------------------------
# Layers, losses, random numbers
# ---------------------------------------------------------------------------------------------
"""
    linear(x, weight, bias=nothing)

`grl_linear`: C `y = x W^T + b` with x `[..., in]`, W `[out, in]`. In Julia order x is
`(in, batch...)`, `weight` is `(in, out)` (it is `W'` of the usual `W * x`), bias `(out,)`, and the
result `(out, batch...)` equals `weight' * x .+ bias`.
"""
linear(x::Tensor, w::Tensor, b::Union{Nothing,Tensor}=nothing) =
    wrap(L.grl_linear(handle(x), handle(w), b === nothing ? L.grl_tensor(C_NULL) : handle(b)))

const REDUCTIONS = Dict(:none => L.GRL_REDUCTION_NONE, :mean => L.GRL_REDUCTION_MEAN, :sum => L.GRL_REDUCTION_SUM)
reduction(r::Symbol) = haskey(REDUCTIONS, r) ? REDUCTIONS[r] : throw(ArgumentError("reduction must be :none, :mean or :sum, got :$r"))

"""`mse_loss(x, y; reduction=:mean)` (`grl_mse_loss`)."""
mse_loss(x::Tensor, y::Tensor; reduction::Symbol=:mean) = wrap(L.grl_mse_loss(handle(x), handle(y), Grilly.reduction(reduction)))
"""`l1_loss(x, y; reduction=:mean)` (`grl_l1_loss`)."""
l1_loss(x::Tensor, y::Tensor; reduction::Symbol=:mean) = wrap(L.grl_l1_loss(handle(x), handle(y), Grilly.reduction(reduction)))
"""
    cross_entropy(logits, targets; ignore_index=-100, label_smoothing=0, reduction=:mean)

`grl_cross_entropy`. logits `(classes, batch)` in Julia order; targets an Int32/Int64 tensor of
**0-based** class indices `(batch,)` (as C), or probabilities of the logits' shape.
"""
cross_entropy(x::Tensor, y::Tensor; ignore_index::Integer=-100, label_smoothing::Real=0.0, reduction::Symbol=:mean) =
    wrap(L.grl_cross_entropy(handle(x), handle(y), Int64(ignore_index), Float64(label_smoothing), Grilly.reduction(reduction)))
"""`nll_loss(logp, targets; ignore_index=-100, reduction=:mean)` (`grl_nll_loss`; 0-based targets)."""
nll_loss(x::Tensor, y::Tensor; ignore_index::Integer=-100, reduction::Symbol=:mean) =
    wrap(L.grl_nll_loss(handle(x), handle(y), Int64(ignore_index), Grilly.reduction(reduction)))
"""`bce_with_logits(x, y; pos_weight=nothing, reduction=:mean)` (`grl_bce_with_logits`)."""
bce_with_logits(x::Tensor, y::Tensor; pos_weight::Union{Nothing,Tensor}=nothing, reduction::Symbol=:mean) =
    wrap(L.grl_bce_with_logits(handle(x), handle(y), pos_weight === nothing ? L.grl_tensor(C_NULL) : handle(pos_weight),
                               Grilly.reduction(reduction)))

"""`dropout(t, p; training=true, seed=0, offset=0)` (`grl_dropout`)."""
dropout(t::Tensor, p::Real; training::Bool=true, seed::Integer=0, offset::Integer=0) =
    wrap(L.grl_dropout(handle(t), Float64(p), UInt32(training), UInt64(seed), UInt64(offset)))
"""`one_hot(indices, n; T=Float32)` (`grl_one_hot`; 0-based indices): a new first Julia dim of size n."""
one_hot(idx::Tensor, n::Integer; T::Type=Float32) = wrap(L.grl_one_hot(handle(idx), Int64(n), dtype(T)))

"""`rand_uniform(T, dims...; low=0, high=1, seed=0, offset=0)` (`grl_rand_uniform`, Philox)."""
function rand_uniform(::Type{T}, dims::Integer...; low::Real=0.0, high::Real=1.0, seed::Integer=0,
                      offset::Integer=0, device::Device=default_device()) where {T}
    wrap(L.grl_rand_uniform(handle(device), cshape(dims), Int32(length(dims)), dtype(T), Float64(low),
                            Float64(high), UInt64(seed), UInt64(offset)))
end
"""`rand_normal(T, dims...; mean=0, std=1, seed=0, offset=0)` (`grl_rand_normal`, Philox)."""
function rand_normal(::Type{T}, dims::Integer...; mean::Real=0.0, std::Real=1.0, seed::Integer=0,
                     offset::Integer=0, device::Device=default_device()) where {T}
    wrap(L.grl_rand_normal(handle(device), cshape(dims), Int32(length(dims)), dtype(T), Float64(mean),
                           Float64(std), UInt64(seed), UInt64(offset)))
end
"""`kaiming_uniform!(t; a=0, fan=:fan_in, seed=0)` (`grl_init_kaiming_uniform_`; fan `:fan_in` or `:fan_out`, of the C shape)."""
function kaiming_uniform!(t::Tensor; a::Real=0.0, fan::Symbol=:fan_in, seed::Integer=0)
    fan in (:fan_in, :fan_out) || throw(ArgumentError("fan must be :fan_in or :fan_out, got :$fan"))
    L.grl_init_kaiming_uniform_(handle(t), Float64(a), fan === :fan_in ? L.GRL_FAN_IN : L.GRL_FAN_OUT, UInt64(seed))
    return t
end
"""`xavier_uniform!(t; gain=1, seed=0)` (`grl_init_xavier_uniform_`)."""
xavier_uniform!(t::Tensor; gain::Real=1.0, seed::Integer=0) = (L.grl_init_xavier_uniform_(handle(t), Float64(gain), UInt64(seed)); t)

# ---------------------------------------------------------------------------------------------
# Autograd
# ---------------------------------------------------------------------------------------------
"""`requires_grad!(t, flag=true)` (`grl_tensor_set_requires_grad`)."""
requires_grad!(t::Tensor, flag::Bool=true) = (L.grl_tensor_set_requires_grad(handle(t), UInt32(flag)); t)
"""`grl_tensor_requires_grad`."""
requires_grad(t::Tensor) = L.grl_tensor_requires_grad(handle(t)) == 1
"""`grad(t)`: the accumulated gradient (`grl_tensor_grad`), or `nothing`."""
function grad(t::Tensor)
    h = L.grl_tensor_grad(handle(t))
    return h == C_NULL ? nothing : wrap(h)
end
"""`backward!(t; grad_output=nothing, retain_graph=false)` (`grl_tensor_backward`)."""
function backward!(t::Tensor; grad_output::Union{Nothing,Tensor}=nothing, retain_graph::Bool=false)
    L.grl_tensor_backward(handle(t), grad_output === nothing ? L.grl_tensor(C_NULL) : handle(grad_output), UInt32(retain_graph))
    return nothing
end
"""`zero_grad!(t)` (`grl_tensor_zero_grad`)."""
zero_grad!(t::Tensor) = (L.grl_tensor_zero_grad(handle(t)); t)
"""`detach(t)` (`grl_tensor_detach`)."""
detach(t::Tensor) = wrap(L.grl_tensor_detach(handle(t)))
"""`no_grad(f)`: runs `f()` with grad mode off on this thread (`grl_set_grad_enabled`).
The grad mode is per OS thread, so `f` should not yield to other tasks."""
function no_grad(f)
    prev = L.grl_set_grad_enabled(UInt32(0))
    try
        return f()
    finally
        L.grl_set_grad_enabled(prev, Ptr{UInt32}(C_NULL))
    end
end

# ---------------------------------------------------------------------------------------------
# Graph capture and replay
# ---------------------------------------------------------------------------------------------
"""A captured, replayable sequence of ops (`grl_graph`); released by its finalizer or `close`."""
mutable struct Graph
    handle::L.grl_graph
    function Graph(h::L.grl_graph)
        g = new(h)
        finalizer(g -> L.grl_graph_release(g.handle), g)
        return g
    end
end
Base.close(g::Graph) = (h = g.handle; g.handle = L.grl_graph(C_NULL); L.grl_graph_release(h); nothing)
handle(g::Graph) = (g.handle == C_NULL && throw(ArgumentError("graph is closed")); g.handle)

"""
    capture(f, device) -> (Graph, result of f)

Records the ops `f()` issues on `device` into a graph (`grl_graph_begin_capture`,
`grl_graph_end_capture`) instead of running them.
"""
function capture(f, d::Device)
    L.grl_graph_begin_capture(handle(d))
    local result
    try
        result = f()
    catch
        g = L.grl_graph_end_capture(handle(d))
        L.grl_graph_release(g)
        rethrow()
    end
    return Graph(L.grl_graph_end_capture(handle(d))), result
end
"""`input!(g, name, t)` (`grl_graph_set_input`), `output!(g, name, t)` (`grl_graph_set_output`)."""
input!(g::Graph, name::AbstractString, t::Tensor) = (L.grl_graph_set_input(handle(g), name, handle(t)); g)
output!(g::Graph, name::AbstractString, t::Tensor) = (L.grl_graph_set_output(handle(g), name, handle(t)); g)
"""`bind!(g, name, A::Array)` (`grl_graph_bind_host`) or a tensor (`grl_graph_bind`)."""
bind!(g::Graph, name::AbstractString, A::Array) = (L.grl_graph_bind_host(handle(g), name, A, Csize_t(sizeof(A))); g)
bind!(g::Graph, name::AbstractString, t::Tensor) = (L.grl_graph_bind(handle(g), name, handle(t)); g)
"""`replay!(g)` (`grl_graph_replay`; does not wait)."""
replay!(g::Graph) = (L.grl_graph_replay(handle(g)); g)
"""`output(g, name)` (`grl_graph_output`)."""
output(g::Graph, name::AbstractString) = wrap(L.grl_graph_output(handle(g), name))
"""`grl_graph_op_count`."""
Base.length(g::Graph) = Int(L.grl_graph_op_count(handle(g)))

include("Optim.jl")

end # module Grilly
