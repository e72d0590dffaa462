# runtests.jl: Grilly.jl's tests. Values are checked against references computed with Julia's own
# arrays; errors against the status and message of the C library. Needs libgrilly and a Vulkan
# device (GRILLY_LIBRARY=/path/to/libgrilly.so; a CPU driver such as lavapipe is enough).
using Test
using Grilly
using Grilly.Optim
const L = Grilly.LibGrilly

dev = Device()

@testset "layout: Julia column-major <-> grilly row-major" begin
    A = reshape(Float32.(1:24), 2, 3, 4)
    t = Tensor(A; device=dev)
    @test t isa Tensor{Float32,3}
    @test size(t) == (2, 3, 4)
    @test eltype(t) == Float32
    @test length(t) == 24
    @test L.grl_tensor_shape(t.handle) == [4, 3, 2]        # C shape is Julia's reversed
    @test Array(t) == A
    # C element [k][j][i] (row-major offset) is Julia's A[i+1, j+1, k+1].
    @test L.grl_tensor_stride(t.handle, 0) == 6
    B = zeros(Float32, 2, 3, 4)
    copyto!(B, t)
    @test B == A
    copyto!(t, 2 .* A)
    @test Array(t) == 2 .* A
    for T in (Float16, Int32, Int64, UInt8)
        X = T.(reshape(0:5, 3, 2))
        @test Array(Tensor(X; device=dev)) == X
    end
    @test permutedims(Array(permutedims(t, (3, 1, 2))), (2, 3, 1)) == 2 .* A
    @test Array(reshape(t, 6, 4)) == reshape(2 .* A, 6, 4)
end

@testset "elementwise ops and broadcasting" begin
    a = Float32[1 2 3; 4 5 6]
    b = Float32[0.5 -1 2; 3 0.25 -2]
    ta, tb = Tensor(a; device=dev), Tensor(b; device=dev)
    @test Array(ta + tb) == a + b
    @test Array(ta - tb) == a - b
    @test Array(ta .* tb) == a .* b
    @test Array(ta ./ tb) ≈ a ./ b
    @test Array(ta .+ 1) == a .+ 1
    @test Array(10 .- ta) == 10 .- a
    @test Array(2 ./ ta) ≈ 2 ./ a
    @test Array(ta .^ 2) ≈ a .^ 2
    @test Array(exp.(ta)) ≈ exp.(a)
    @test Array(-ta) == -a
    @test Array(ta .> 2) == UInt8.(a .> 2)
    col = Float32[10, 20]                                   # Julia broadcasting: leading dims align
    @test Array(ta .+ Tensor(col; device=dev)) == a .+ col
    @test Array(relu.(tb)) == max.(b, 0)
    @test Array(relu(tb)) == max.(b, 0)
    @test Array(sigmoid(tb)) ≈ 1 ./ (1 .+ exp.(-b))
end

@testset "matmul, softmax, reductions" begin
    A = Float32[1 2 3; 4 5 6]
    B = Float32[1 0; 0 1; 2 -1]
    @test Array(Tensor(A; device=dev) * Tensor(B; device=dev)) ≈ A * B
    v = Float32[1, -1, 2]
    @test Array(Tensor(A; device=dev) * Tensor(v; device=dev)) ≈ A * v
    X = Float32[1 2; 3 -1; 0 0.5]                           # 3 classes x 2 samples
    S = Array(softmax(Tensor(X; device=dev)))               # over dims=1, the classes
    ref = exp.(X) ./ sum(exp.(X); dims=1)
    @test S ≈ ref
    t = Tensor(A; device=dev)
    @test sum(t)[] ≈ sum(A)
    @test Array(sum(t; dims=1)) ≈ sum(A; dims=1)
    @test Array(sum(t; dims=2)) ≈ sum(A; dims=2)
    @test Array(maximum(t; dims=2)) == maximum(A; dims=2)
    @test mean(t)[] ≈ sum(A) / length(A)
    @test argmaxdim(t, 1) == [2, 2, 2]
    W = Float32[1 2; 3 4; 5 6]                              # (in=3, out=2): C weight [2, 3]
    x = Float32[1 0; 0 1; 1 1]                              # (in=3, batch=2)
    bias = Float32[0.5, -0.5]
    @test Array(linear(Tensor(x; device=dev), Tensor(W; device=dev), Tensor(bias; device=dev))) ≈ W' * x .+ bias
end

@testset "errors" begin
    a = Tensor(zeros(Float32, 2, 3); device=dev)
    b = Tensor(zeros(Float32, 4, 3); device=dev)
    err = try
        a + b
        nothing
    catch e
        e
    end
    @test err isa GrillyError
    @test err.status == L.GRL_ERROR_SHAPE
    @test occursin("grl_add", err.message)
    @test_throws GrillyError Tensor(zeros(Float32, 2)) .+ Tensor(zeros(Int32, 2))
end

@testset "close is idempotent" begin
    t = Tensor(ones(Float32, 3); device=dev)
    close(t)
    close(t)
    @test t.handle == C_NULL
    @test_throws ArgumentError Array(t)
end

@testset "autograd and optimizers" begin
    w0 = Float32[1, -2, 3]
    w = requires_grad!(Tensor(w0; device=dev))
    x = Tensor(Float32[0.5, 1, -1]; device=dev)
    loss = sum(w .* x)
    backward!(loss)
    @test Array(grad(w)) ≈ Float32[0.5, 1, -1]
    opt = SGD([w]; lr=0.1)
    step!(opt)
    @test Array(w) ≈ w0 .- 0.1f0 .* Float32[0.5, 1, -1]
    @test lr(opt) ≈ 0.1
    # Adam's first step moves every parameter by lr (times the sign of its gradient).
    p = requires_grad!(Tensor(Float32[1, 1]; device=dev))
    adam = Adam([p]; lr=0.01)
    l = train_step!(() -> sum(p .* Tensor(Float32[2, -3]; device=dev)), adam)
    @test Array(p) ≈ Float32[0.99, 1.01] atol=1e-5
    @test step_count(adam) == 1
    close(adam)
    close(adam)
end
