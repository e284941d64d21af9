package io.membudget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.membudget.internal.Backends;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class BackendTest {
    @Test
    void theBackendThisRunTestsIsTheOneLoaded() {
        // test.sh says which backend each run must exercise; a silent fall-back fails here.
        String expected = System.getProperty("membudget.test.backend");
        String loaded = Backends.abi().name();
        if (expected != null) {
            assertEquals(expected, loaded, MemBudget.librarySource());
        } else {
            assertEquals(Backends.ffmAvailable() ? "ffm" : "jna", loaded);
        }
        assertTrue(MemBudget.librarySource().startsWith(loaded.toUpperCase(java.util.Locale.ROOT) + ", "),
                MemBudget.librarySource());
        if (Runtime.version().feature() < 22) {
            assertEquals("jna", loaded, "Java " + Runtime.version().feature() + " has no FFM backend");
        }
    }

    @Test
    void ffmIsTheDefaultWhereItCanRunAndJnaElsewhere() {
        assertEquals("ffm", Backends.choose(null, 25, true));
        assertEquals("ffm", Backends.choose("auto", 22, true));
        assertEquals("jna", Backends.choose(null, 17, false));
        assertEquals("jna", Backends.choose("auto", 25, false));
        assertEquals("jna", Backends.choose("jna", 25, true));
        assertEquals("jna", Backends.choose("jna", 17, false));
    }

    @Test
    void aForcedBackendThatCannotRunIsAnErrorNotAFallBack() {
        UnsatisfiedLinkError old = assertThrows(UnsatisfiedLinkError.class, () -> Backends.choose("ffm", 17, false));
        assertEquals("-Dmembudget.backend=ffm: the Foreign Function & Memory backend needs Java 22+, this JVM"
                + " is Java 17; use -Dmembudget.backend=jna or unset it", old.getMessage());
        UnsatisfiedLinkError noClasses = assertThrows(UnsatisfiedLinkError.class,
                () -> Backends.choose("ffm", 25, false));
        assertTrue(noClasses.getMessage().contains("has no META-INF/versions/22 classes"), noClasses.getMessage());
        UnsatisfiedLinkError unknown = assertThrows(UnsatisfiedLinkError.class,
                () -> Backends.choose("panama", 25, true));
        assertTrue(unknown.getMessage().startsWith("-Dmembudget.backend=panama is not a membudget backend; use"
                + " ffm (Java 22+), jna, or auto"), unknown.getMessage());
    }

    @Test
    void aJvmAskedForABackendItCannotRunSaysSoAndStops() throws Exception {
        // In a child JVM, since the backend is chosen once per JVM: on Java 17 ask for FFM, on
        // Java 22+ for an unknown backend.
        String wanted = Backends.ffmAvailable() ? "bogus" : "ffm";
        ProcessBuilder pb = new ProcessBuilder(
                ChildJvm.command(EnvironmentProbe.class, "-D" + Backends.PROPERTY + "=" + wanted));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertNotEquals(0, p.waitFor(), out);
        assertTrue(out.contains("UnsatisfiedLinkError: -D" + Backends.PROPERTY + "=" + wanted), out);
    }
}
