# train_digits.jl: trains the 64-128-128-10 MLP (ReLU, Adam, lr 1e-3, batch 32) of
# examples/c/train_digits.c on the 8x8 digits (examples/data/digits.u8, the same fixed shuffle and
# 80/20 split) through Grilly.jl, and reports test accuracy; --graph replays a captured step.
# Usage: GRILLY_LIBRARY=build/libgrilly.so julia --project=bindings/julia/Grilly.jl \
#            examples/julia/train_digits.jl [--graph] [--epochs N] [--data PATH] [--quiet]
using Grilly
using Grilly.Optim

const N_IMAGES, PIXELS, CLASSES, HIDDEN, BATCH = 1797, 64, 10, 128, 32
const N_TRAIN = 1437
const N_TEST = N_IMAGES - N_TRAIN

# The C example's generator (a 64-bit LCG; UInt64 arithmetic wraps as in C).
mutable struct Lcg
    state::UInt64
end
function shuffle_step!(rng::Lcg, order::Vector{Int})
    for i in length(order)-1:-1:1                   # 0-based i from n-1 down to 1
        rng.state = rng.state * 0x5851f42d4c957f2d + 0x14057b7ef767814f
        j = Int((rng.state >> 33) % UInt64(i + 1))
        order[i+1], order[j+1] = order[j+1], order[i+1]
    end
    return order
end

# Julia order: weights are (in, out) (C [out, in]); activations (features, batch).
struct Mlp
    w1::Tensor{Float32,2}
    b1::Tensor{Float32,1}
    w2::Tensor{Float32,2}
    b2::Tensor{Float32,1}
    w3::Tensor{Float32,2}
    b3::Tensor{Float32,1}
end
params(m::Mlp) = Tensor[m.w1, m.b1, m.w2, m.b2, m.w3, m.b3]

# PyTorch's nn.Linear initialisation, as the C example: kaiming_uniform(a = sqrt(5)) weights,
# uniform +-1/sqrt(fan_in) biases, with the same seeds.
function weight(dev, n_in, n_out, seed)
    w = Tensor{Float32}(undef, n_in, n_out; device=dev)
    return requires_grad!(kaiming_uniform!(w; a=sqrt(5.0), fan=:fan_in, seed=seed))
end
function bias(dev, n_out, fan_in, seed)
    bound = 1 / sqrt(fan_in)
    return requires_grad!(rand_uniform(Float32, n_out; low=-bound, high=bound, seed=seed, device=dev))
end

function forward(m::Mlp, x::Tensor)
    h1 = linear(x, m.w1, m.b1)
    a1 = relu(h1)
    h2 = linear(a1, m.w2, m.b2)
    a2 = relu(h2)
    logits = linear(a2, m.w3, m.b3)
    foreach(close, (h1, a1, h2, a2))              # the tape keeps what backward needs
    return logits
end

function train_step(m::Mlp, opt, x, y)
    return train_step!(opt) do
        logits = forward(m, x)
        loss = cross_entropy(logits, y)
        close(logits)
        loss
    end
end

function accuracy(dev, m::Mlp, x::Matrix{Float32}, y::Vector{Int64})
    no_grad() do
        tx = Tensor(x; device=dev)
        logits = forward(m, tx)
        pred = argmaxdim(logits, 1) .- 1           # back to 0-based classes
        close(tx)
        close(logits)
        count(pred .== y) / length(y)
    end
end

function main(args)
    path, use_graph, epochs, quiet = "examples/data/digits.u8", false, 40, false
    i = 1
    while i <= length(args)
        a = args[i]
        if a == "--graph"
            use_graph = true
        elseif a == "--quiet"
            quiet = true
        elseif a == "--epochs" && i < length(args)
            epochs = parse(Int, args[i+=1])
        elseif a == "--data" && i < length(args)
            path = args[i+=1]
        else
            println(stderr, "usage: train_digits.jl [--graph] [--epochs N] [--data PATH] [--quiet]")
            return 2
        end
        i += 1
    end
    raw = isfile(path) ? read(path) : UInt8[]
    if length(raw) != N_IMAGES * (PIXELS + 1)
        println(stderr, "cannot read $path (1,797 x 65 bytes; see examples/data/README.md)")
        return 1
    end
    images = reshape(raw, PIXELS + 1, N_IMAGES)     # column k: image k-1's pixels, then its label

    rng = Lcg(20261123)
    order = shuffle_step!(rng, collect(0:N_IMAGES-1))
    xtr = Matrix{Float32}(undef, PIXELS, N_TRAIN)
    xte = Matrix{Float32}(undef, PIXELS, N_TEST)
    ytr = Vector{Int64}(undef, N_TRAIN)
    yte = Vector{Int64}(undef, N_TEST)
    for (i, src) in enumerate(order)
        col = images[:, src+1]
        if i <= N_TRAIN
            xtr[:, i] .= col[1:PIXELS] ./ 16f0
            ytr[i] = col[PIXELS+1]
        else
            xte[:, i-N_TRAIN] .= col[1:PIXELS] ./ 16f0
            yte[i-N_TRAIN] = col[PIXELS+1]
        end
    end

    dev = Device()
    println("training a 64-128-128-10 MLP on $N_TRAIN digits ($N_TEST held out) on $(devicename(dev)), ",
            use_graph ? "replaying a captured graph" : "eager")
    m = Mlp(weight(dev, PIXELS, HIDDEN, 1), bias(dev, HIDDEN, PIXELS, 2), weight(dev, HIDDEN, HIDDEN, 3),
            bias(dev, HIDDEN, HIDDEN, 4), weight(dev, HIDDEN, CLASSES, 5), bias(dev, CLASSES, HIDDEN, 6))
    opt = Adam(params(m); lr=1e-3)

    bx = zeros(Tensor{Float32}, PIXELS, BATCH; device=dev)
    by = zeros(Tensor{Int64}, BATCH; device=dev)
    graph, graph_loss = nothing, nothing
    if use_graph
        graph, graph_loss = capture(() -> train_step(m, opt, bx, by), dev)
        input!(graph, "x", bx)
        input!(graph, "y", by)
        output!(graph, "loss", graph_loss)
        println("captured one training step: $(length(graph)) kernels, replayed as one submission per batch")
    end

    perm = collect(0:N_TRAIN-1)
    batch_x = Matrix{Float32}(undef, PIXELS, BATCH)
    batch_y = Vector{Int64}(undef, BATCH)
    last_acc = 0.0
    for epoch in 1:epochs
        shuffle_step!(rng, perm)                    # same sequence in both modes, as in C
        last_loss = NaN
        start = 0
        while start + BATCH <= N_TRAIN               # drop_last
            for b in 1:BATCH
                batch_x[:, b] .= view(xtr, :, perm[start+b]+1)
                batch_y[b] = ytr[perm[start+b]+1]
            end
            if use_graph
                bind!(graph, "x", batch_x)
                bind!(graph, "y", batch_y)
                replay!(graph)
                loss = graph_loss
            else
                copyto!(bx, batch_x)
                copyto!(by, batch_y)
                loss = train_step(m, opt, bx, by)
            end
            if start + 2 * BATCH > N_TRAIN          # read the loss once per epoch
                last_loss = loss[]
            end
            use_graph || close(loss)
            start += BATCH
        end
        if !quiet && (epoch % 5 == 0 || epoch == 1)
            last_acc = accuracy(dev, m, xte, yte)
            println("epoch $(lpad(epoch, 3))  last batch loss $(round(last_loss; digits=4))  ",
                    "test accuracy $(round(100 * last_acc; digits=2))%")
        end
    end
    last_acc = accuracy(dev, m, xte, yte)
    train_acc = accuracy(dev, m, xtr, ytr)
    println("final: train accuracy $(round(100 * train_acc; digits=2))%, test accuracy ",
            "$(round(100 * last_acc; digits=2))% ($N_TEST test images)")
    graph === nothing || close(graph)
    foreach(close, (bx, by, opt))
    foreach(close, params(m))
    close(dev)
    if last_acc < 0.96
        println(stderr, "FAILED: test accuracy $(round(100 * last_acc; digits=2))% is below 96%")
        return 1
    end
    return 0
end

exit(main(ARGS))
