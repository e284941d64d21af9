package io.membudget.internal;

/**
 * The Foreign Function &amp; Memory backend's entry point as Java 17-21 see it: absent. The
 * multi-release jar replaces this class on Java 22+ with {@code META-INF/versions/22}'s, which
 * loads {@code FfmAbi}; both have the same members.
 */
final class ForeignBackend {
    /** The Java feature version the FFM backend is compiled for (the API is final in 22). */
    static final int JAVA_FEATURE = 22;

    /**
     * Whether {@link #load} works in this JVM: never, in this (base) version of the class. A method, not a constant: javac
     * would copy a constant into its callers, and they would never see the other version.
     */
    static boolean available() {
        return false;
    }

    private ForeignBackend() {}

    /** Always refuses here; {@link Backends#choose} does not pick FFM when unavailable. */
    static NativeAbi load(NativeLibraryLocator.Located located) {
        throw new UnsatisfiedLinkError("the Foreign Function & Memory backend needs Java "
                + JAVA_FEATURE + "+ and the jar's META-INF/versions/" + JAVA_FEATURE + " classes");
    }
}
