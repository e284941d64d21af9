package io.membudget;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.membudget.internal.NativeLibraryLocator;
import io.membudget.internal.NativeLibraryLocator.Located;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeLibraryLocatorTest {
    private static final String NAME = NativeLibraryLocator.FILE_NAME;

    @Test
    void thePropertyWinsAsFileOrDirectory(@TempDir Path dir) throws Exception {
        Path lib = Files.writeString(dir.resolve(NAME), "x");
        Path other = Files.createDirectories(dir.resolve("other"));
        Files.writeString(other.resolve(NAME), "y");
        assertEquals(lib, NativeLibraryLocator.locate(lib.toString(), other.toString(), r -> null).path());
        Located viaDir = NativeLibraryLocator.locate(dir.toString(), other.toString(), r -> null);
        assertEquals(lib, viaDir.path());
        assertTrue(viaDir.source().startsWith("-Dmembudget.library.path="), viaDir.source());
    }

    @Test
    void aWrongPropertyIsAnErrorNotAFallThrough(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve(NAME), "on java.library.path");
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLibraryLocator.locate("/nonexistent/dir", dir.toString(), r -> null));
        assertTrue(e.getMessage().contains("-Dmembudget.library.path=/nonexistent/dir names no " + NAME),
                e.getMessage());
    }

    @Test
    void thenJavaLibraryPathInOrder(@TempDir Path dir) throws Exception {
        Path a = Files.createDirectories(dir.resolve("a"));
        Path b = Files.createDirectories(dir.resolve("b"));
        Files.writeString(b.resolve(NAME), "b");
        String path = a + File.pathSeparator + File.pathSeparator + b;
        Located found = NativeLibraryLocator.locate(null, path, r -> null);
        assertEquals(b.resolve(NAME), found.path());
        assertEquals("java.library.path entry " + b.resolve(NAME), found.source());
    }

    @Test
    void thenTheBundledCopyExtractedToATemporaryFile(@TempDir Path dir) throws Exception {
        byte[] bytes = {1, 2, 3};
        String wanted = NativeLibraryLocator.bundledResource();
        assertTrue(wanted.startsWith("META-INF/native/") && wanted.endsWith("/" + NAME), wanted);
        Located found = NativeLibraryLocator.locate(null, dir.toString(),
                r -> r.equals(wanted) ? new ByteArrayInputStream(bytes) : null);
        assertArrayEquals(bytes, Files.readAllBytes(found.path()));
        assertTrue(found.source().startsWith("bundled copy " + wanted), found.source());
    }

    @Test
    void nothingFoundNamesEveryPlace(@TempDir Path dir) {
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLibraryLocator.locate(null, dir.toString(), r -> null));
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(NativeLibraryLocator.bundledResource()), e.getMessage());
        assertTrue(e.getMessage().contains("-Dmembudget.library.path"), e.getMessage());
    }
}
