"""The CPU features of the running machine, from cpuid (``__builtin_cpu_supports``, which also
checks that the OS saves the AVX / AVX-512 registers). Compiled for the compiler's default target,
so that it runs on any CPU of the architecture. Used by :mod:`shouxie.core._dispatch`."""

cdef extern from *:
    """
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    #define SHX_X86 1
    #define SHX_FEATURE(name) (__builtin_cpu_supports(name) > 0)
    #else
    #define SHX_X86 0
    #define SHX_FEATURE(name) 0
    #endif
    static int shx_feature(int i) {
        switch (i) {
        case 0: return SHX_FEATURE("x86-64-v2");
        case 1: return SHX_FEATURE("x86-64-v3");
        case 2: return SHX_FEATURE("x86-64-v4");
        case 3: return SHX_FEATURE("avx2");
        case 4: return SHX_FEATURE("fma");
        case 5: return SHX_FEATURE("avx512f");
        case 6: return SHX_FEATURE("avx512bw");
        case 7: return SHX_FEATURE("avx512vbmi");
        }
        return 0;
    }
    """
    bint X86 "SHX_X86"
    bint shx_feature(int i) noexcept

#: The features :func:`features` reports, by their ``__builtin_cpu_supports`` names.
FEATURES = ("x86-64-v2", "x86-64-v3", "x86-64-v4", "avx2", "fma", "avx512f", "avx512bw",
            "avx512vbmi")


def features():
    """The features of FEATURES this CPU supports (an empty tuple off x86)."""
    return tuple(name for i, name in enumerate(FEATURES) if X86 and shx_feature(i))
