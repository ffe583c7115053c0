// Whether OpenBLAS's single-threaded sgemm gives each element of C the same bits when the product is cut
// into slices of rows (M) or columns (N) as when it runs whole. If every slice of every product of a
// training step were bit-identical, a step could split its products between threads and still give the
// one-thread weights; where they are not, the thread count is part of the result (README, Threads). For
// the dense model's shapes at batch B, each product row-major as blasnet calls it, in 2 and 3 slices:
// prints every shape whose sliced result differs from the whole one, then a count per kernel family.
//   gcc -O2 scripts/gemm_split_invariance.c -o /tmp/split-invariance -lopenblas
//   for f in Cooperlake SkylakeX Haswell Zen; do OPENBLAS_CORETYPE=$f /tmp/split-invariance; done
// Arguments: batch sizes (default 32 256 17 100).
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float uniform(void) { return (float)rand() / RAND_MAX - 0.5f; }

// C[m, n] = op(A)·op(B) + beta·C, whole and in `slices` slices along M (byRows) or N; 1 if they differ.
static int differs(int transA, int transB, int m, int n, int k, float beta, int byRows, int slices) {
    int lda = transA ? m : k, ldb = transB ? k : n;
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
    float *whole = malloc(sizeof(float) * m * n), *sliced = malloc(sizeof(float) * m * n);
    for (int i = 0; i < m * k; i++) a[i] = uniform();
    for (int i = 0; i < k * n; i++) b[i] = uniform();
    for (int i = 0; i < m * n; i++) whole[i] = sliced[i] = uniform();
    enum CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans;
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1, a, lda, b, ldb, beta, whole, n);
    int extent = byRows ? m : n;
    for (int s = 0; s < slices; s++) {
        int low = extent * s / slices, count = extent * (s + 1) / slices - low;
        if (byRows)
            cblas_sgemm(CblasRowMajor, ta, tb, count, n, k, 1, transA ? a + low : a + low * lda, lda, b, ldb,
                        beta, sliced + low * n, n);
        else
            cblas_sgemm(CblasRowMajor, ta, tb, m, count, k, 1, a, lda, transB ? b + low * ldb : b + low, ldb,
                        beta, sliced + low, n);
    }
    int result = memcmp(whole, sliced, sizeof(float) * m * n) != 0;
    free(a); free(b); free(whole); free(sliced);
    return result;
}

int main(int argc, char **argv) {
    openblas_set_num_threads(1);
    int defaults[] = {32, 256, 17, 100};
    int batchCount = argc > 1 ? argc - 1 : 4, differing = 0, checked = 0;
    for (int bi = 0; bi < batchCount; bi++) {
        int B = argc > 1 ? atoi(argv[bi + 1]) : defaults[bi];
        struct { int transA, transB, m, n, k; float beta; int byRows; const char *what; } products[] = {
            {0, 0, B, 128, 784, 1, 0, "Z0 = X·W0, by columns"},   {0, 0, B, 128, 784, 1, 1, "Z0 = X·W0, by rows"},
            {0, 0, B, 64, 128, 1, 1, "Z1 = A0·W1, by rows"},      {0, 1, B, 128, 64, 0, 1, "dA0 = dZ1·W1ᵀ, by rows"},
            {1, 0, 784, 128, B, 1, 1, "dW0 += Xᵀ·dZ0, by rows"},  {1, 0, 784, 128, B, 1, 0, "dW0 += Xᵀ·dZ0, by columns"},
            {1, 0, 128, 64, B, 1, 1, "dW1 += A0ᵀ·dZ1, by rows"},  {1, 0, 128, 64, B, 1, 0, "dW1 += A0ᵀ·dZ1, by columns"},
            {0, 0, B, 10, 64, 1, 1, "Z2 = A1·W2 (10 classes), by rows"},
            {1, 0, 64, 10, B, 1, 1, "dW2 += A1ᵀ·dZ2 (10 classes), by rows"},
        };
        for (size_t p = 0; p < sizeof products / sizeof products[0]; p++)
            for (int slices = 2; slices <= 3; slices++) {
                int d = differs(products[p].transA, products[p].transB, products[p].m, products[p].n, products[p].k,
                                products[p].beta, products[p].byRows, slices);
                checked++;
                differing += d;
                if (d) printf("  batch %3d, %d slices: %s differs\n", B, slices, products[p].what);
            }
    }
    printf("%s: %d of %d sliced products differ from the whole product\n", openblas_get_corename(), differing, checked);
    return 0;
}
