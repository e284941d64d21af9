package io.membudget.internal;

/**
 * Chooses and loads the {@link NativeAbi} backend once per JVM.
 *
 * <p>Today that is always {@link JnaAbi}. A Foreign Function &amp; Memory backend for Java 22+
 * slots in here ({@code Runtime.version().feature() >= 22}, falling back to JNA), selectable
 * with {@value #PROPERTY}{@code =jna|ffm}; nothing else changes.
 */
public final class Backends {
    /** The system property that forces a backend ({@code jna}; {@code ffm} once it exists). */
    public static final String PROPERTY = "membudget.backend";

    /** The major ABI version this binding is written against ({@code MB_ABI_VERSION >> 16}). */
    static final int ABI_MAJOR = 1;
    /** The least minor version it needs (1.1: plan options, quotas from the environment, refusals). */
    static final int ABI_MINOR = 1;

    private static volatile NativeAbi abi;
    private static volatile UnsatisfiedLinkError failure;

    private Backends() {}

    /**
     * The loaded backend, loading it on first use.
     *
     * @throws UnsatisfiedLinkError if the library cannot be found or loaded, or implements
     *     another major ABI version (thrown again, with the same message, at every later call)
     */
    public static NativeAbi abi() {
        NativeAbi a = abi;
        return a != null ? a : load();
    }

    private static synchronized NativeAbi load() {
        if (abi != null) {
            return abi;
        }
        if (failure != null) {
            UnsatisfiedLinkError again = new UnsatisfiedLinkError(failure.getMessage());
            again.initCause(failure);
            throw again;
        }
        try {
            String wanted = System.getProperty(PROPERTY, "jna");
            if (!wanted.equals("jna")) {
                throw new UnsatisfiedLinkError("-D" + PROPERTY + "=" + wanted
                        + " is not a membudget backend; this version has 'jna'");
            }
            NativeAbi a = JnaAbi.load(NativeLibraryLocator.locate());
            int version = a.abiVersion();
            if (version >>> 16 != ABI_MAJOR || (version & 0xFFFF) < ABI_MINOR) {
                throw new UnsatisfiedLinkError("libmembudget (" + a.librarySource() + ") implements ABI "
                        + (version >>> 16) + "." + (version & 0xFFFF) + "; this binding needs "
                        + ABI_MAJOR + "." + ABI_MINOR + " or a later " + ABI_MAJOR + ".x");
            }
            abi = a;
            return a;
        } catch (UnsatisfiedLinkError e) {
            failure = e;
            throw e;
        }
    }
}
