package io.membudget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plan options of {@code membudget plan} reach the library's plan. */
class PlanOptionsTest {
    @Test
    void nativeHostMovesMetaspaceFromOverheadToHeap() {
        try (MemBudget jvm = Runtimes.open();
                MemBudget nat = Runtimes.oneGiB().host(HostProfile.NATIVE).build();
                MemBudget net = Runtimes.oneGiB().host(HostProfile.DOTNET).build()) {
            long metaspace = 256L << 20;
            assertEquals(jvm.usage(Category.HEAP).quota() + metaspace, nat.usage(Category.HEAP).quota());
            assertEquals(jvm.usage(Category.OVERHEAD).quota() - metaspace,
                    nat.usage(Category.OVERHEAD).quota());
            assertEquals(jvm.usage(Category.HEAP).quota(), net.usage(Category.HEAP).quota());
            assertTrue(nat.planJson().contains("\"host\": \"native\""), nat.planJson());
            assertTrue(net.planJson().contains("\"host\": \"dotnet\""), net.planJson());
        }
    }

    @Test
    void flink2IgnoresTheRemovedLegacyKeysAndStrictRefusesThem() {
        MemBudget.Builder legacy = Runtimes.oneGiB()
                .property("taskmanager.memory.process.size", "4g")
                .property("taskmanager.network.numberOfBuffers", "4096");
        try (MemBudget v1 = legacy.build();
                MemBudget v2 = legacy.flinkVersion(FlinkVersion.V2).build()) {
            assertEquals(4096L * 32768, v1.usage(Category.NETWORK).quota());
            assertNotEquals(4096L * 32768, v2.usage(Category.NETWORK).quota());
            assertTrue(v2.planJson().contains("taskmanager.network.numberOfBuffers"), v2.planJson());
        }
        IllegalConfigurationException e = assertThrows(IllegalConfigurationException.class,
                () -> legacy.strict(true).build());
        assertTrue(e.getMessage().contains("'taskmanager.network.numberOfBuffers' is not read by Flink 2.x"),
                e.getMessage());
    }

    @Test
    void kubernetesMapsTheLegacyHeapToTheProcess() {
        MemBudget.Builder legacy = MemBudget.builder().ignoreContainer(true)
                .property("taskmanager.heap.size", "2g");
        try (MemBudget k8s = legacy.deployment(Deployment.KUBERNETES).build();
                MemBudget standalone = legacy.deployment(Deployment.STANDALONE).build()) {
            assertTrue(k8s.planJson().contains("\"total_process_memory\": 2147483648"), k8s.planJson());
            assertTrue(!standalone.planJson().contains("\"total_process_memory\": 2147483648"),
                    standalone.planJson());
        }
    }

    @Test
    void configFormatAndSection(@TempDir Path dir) throws Exception {
        Path settings = dir.resolve("settings.conf");
        Files.writeString(settings, "{\"Custom\": {\"taskmanager.memory.process.size\": \"2g\"}}");
        try (MemBudget budget = MemBudget.builder().ignoreContainer(true).configFile(settings)
                .configFormat(ConfigFormat.JSON).configSection("Custom").build()) {
            assertTrue(budget.planJson().contains("\"total_process_memory\": 2147483648"),
                    budget.planJson());
        }
        IllegalConfigurationException e = assertThrows(IllegalConfigurationException.class,
                () -> MemBudget.builder().ignoreContainer(true).configFile(settings)
                        .configFormat(ConfigFormat.JSON).configSection("Other").build());
        assertTrue(e.getMessage().contains("there is no section 'Other'"), e.getMessage());
        InvalidArgumentException noFile = assertThrows(InvalidArgumentException.class,
                () -> Runtimes.oneGiB().configSection("Custom").build());
        assertTrue(noFile.getMessage().contains("options->config_section is set but"
                + " options->config_file is NULL"), noFile.getMessage());
    }

    @Test
    void verboseErrorsUseFlinksLayout() {
        MemBudget.Builder bad = Runtimes.oneGiB().property("taskmanager.memory.managed.fraction", "1.5");
        String oneLine = assertThrows(IllegalConfigurationException.class, bad::build).getMessage();
        String verbose = assertThrows(IllegalConfigurationException.class,
                () -> bad.verboseErrors(true).build()).getMessage();
        assertTrue(!oneLine.contains("\n"), oneLine);
        assertTrue(verbose.contains("\nCaused by: fraction must be in range [0, 1)\n"), verbose);
    }
}
