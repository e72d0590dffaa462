# Optim.jl: Grilly.Optim, optimizers over grl_optimizer (SGD, Adam, AdamW, RMSprop, Adagrad) and
# the training helpers built on them (train_step!, clip_grad_norm!).
"""
    Grilly.Optim

Optimizers over `grl_optimizer`: each `step!` records one fused update per parameter on the
device (PyTorch's algorithms). Parameters must be floating, contiguous leaves marked with
`requires_grad!`; the C optimizer keeps a reference to each.
"""
module Optim

using ..Grilly: Grilly, Tensor, handle, wrap, backward!
import ..Grilly: zero_grad!
const L = Grilly.LibGrilly

export Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad, step!, zero_grad!, lr, set_lr!, step_count,
       train_step!, clip_grad_norm!

"""An optimizer (`grl_optimizer`); released by its finalizer or `close`."""
mutable struct Optimizer
    handle::L.grl_optimizer
    params::Vector{Tensor}
    function Optimizer(params::AbstractVector{<:Tensor}, opts::L.grl_optimizer_options)
        isempty(params) && throw(ArgumentError("an optimizer needs at least one parameter"))
        hs = L.grl_tensor[handle(p) for p in params]
        h = L.grl_optimizer_create(hs, Int32(length(hs)), Ref(opts))
        o = new(h, collect(Tensor, params))
        finalizer(o -> L.grl_optimizer_release(o.handle), o)
        return o
    end
end
Base.close(o::Optimizer) = (h = o.handle; o.handle = L.grl_optimizer(C_NULL); L.grl_optimizer_release(h); nothing)
Grilly.handle(o::Optimizer) = (o.handle == C_NULL && throw(ArgumentError("optimizer is closed")); o.handle)

# Options from GRL_OPTIMIZER_OPTIONS_INIT(kind) with some fields replaced.
function options(kind::L.grl_optimizer_kind; kw...)
    base = L.GRL_OPTIMIZER_OPTIONS_INIT(kind)
    names = fieldnames(L.grl_optimizer_options)
    for k in keys(kw)
        k in names || throw(ArgumentError("grl_optimizer_options has no field $k"))
    end
    vals = [haskey(kw, n) ? convert(fieldtype(L.grl_optimizer_options, n), kw[n]) : getfield(base, n) for n in names]
    return L.grl_optimizer_options(vals...)
end

"""`SGD(params; lr=0.01, momentum=0, dampening=0, nesterov=false, weight_decay=0)` (`grl_optimizer_create`, `GRL_OPTIM_SGD`)."""
SGD(params; lr=0.01, momentum=0.0, dampening=0.0, nesterov=false, weight_decay=0.0) =
    Optimizer(params, options(L.GRL_OPTIM_SGD; lr, momentum, dampening, nesterov=UInt32(nesterov), weight_decay))
"""`Adam(params; lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=false)` (`GRL_OPTIM_ADAM`)."""
Adam(params; lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=false) =
    Optimizer(params, options(L.GRL_OPTIM_ADAM; lr, beta1=betas[1], beta2=betas[2], eps, weight_decay, amsgrad=UInt32(amsgrad)))
"""`AdamW(params; lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=false)` (`GRL_OPTIM_ADAMW`)."""
AdamW(params; lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=false) =
    Optimizer(params, options(L.GRL_OPTIM_ADAMW; lr, beta1=betas[1], beta2=betas[2], eps, weight_decay, amsgrad=UInt32(amsgrad)))
"""`RMSprop(params; lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=false)` (`GRL_OPTIM_RMSPROP`)."""
RMSprop(params; lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=false) =
    Optimizer(params, options(L.GRL_OPTIM_RMSPROP; lr, alpha, eps, weight_decay, momentum, centered=UInt32(centered)))
"""`Adagrad(params; lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10)` (`GRL_OPTIM_ADAGRAD`)."""
Adagrad(params; lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10) =
    Optimizer(params, options(L.GRL_OPTIM_ADAGRAD; lr, lr_decay, weight_decay, initial_accumulator_value, eps))

"""`step!(opt)`: records one update (`grl_optimizer_step`)."""
step!(o::Optimizer) = (L.grl_optimizer_step(handle(o)); o)
"""`zero_grad!(opt)`: clears the gradients of its parameters (`grl_optimizer_zero_grad`)."""
zero_grad!(o::Optimizer) = (L.grl_optimizer_zero_grad(handle(o)); o)
"""`lr(opt)` (`grl_optimizer_get_lr`)."""
lr(o::Optimizer) = L.grl_optimizer_get_lr(handle(o))
"""`set_lr!(opt, lr)` (`grl_optimizer_set_lr`)."""
set_lr!(o::Optimizer, x::Real) = (L.grl_optimizer_set_lr(handle(o), Float64(x)); o)
"""`step_count(opt)` (`grl_optimizer_step_count`; waits for the device)."""
step_count(o::Optimizer) = Int(L.grl_optimizer_step_count(handle(o)))

"""
    train_step!(loss_fn, opt) -> loss tensor

One training step: `zero_grad!(opt)`, `loss = loss_fn()`, `backward!(loss)`, `step!(opt)`. The
loss stays on the device (read it with `loss[]`, which waits).
"""
function train_step!(loss_fn, o::Optimizer)
    zero_grad!(o)
    loss = loss_fn()
    backward!(loss)
    step!(o)
    return loss
end

"""`clip_grad_norm!(params, max_norm; norm_type=2)` (`grl_clip_grad_norm`): the total norm as a 0-d tensor."""
function clip_grad_norm!(params::AbstractVector{<:Tensor}, max_norm::Real; norm_type::Real=2.0)
    hs = L.grl_tensor[handle(p) for p in params]
    return wrap(L.grl_clip_grad_norm(hs, Int32(length(hs)), Float64(max_norm), Float64(norm_type)))
end

end # module Optim
