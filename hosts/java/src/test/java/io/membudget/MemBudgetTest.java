package io.membudget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.membudget.internal.Backends;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemBudgetTest {
    @Test
    void abiVersionIsOneDotSomething() {
        assertEquals(1 << 16, MemBudget.abiVersion());
        assertEquals(MemBudget.abiVersion(), Backends.abi().abiVersion());
        assertTrue(MemBudget.librarySource().contains("libmembudget"), MemBudget.librarySource());
    }

    @Test
    void planJsonAndJvmArgsAreTheCliOutputs() {
        try (MemBudget budget = Runtimes.open()) {
            String json = budget.planJson();
            assertTrue(json.contains("\"role\": \"taskmanager\""), json);
            assertTrue(json.contains("\"total_process_memory\": 1073741824"), json);
            assertTrue(json.contains("\"network_buffers\": 2048"), json);
            assertTrue(budget.jvmArgs().startsWith("-Xmx161061270 -Xms161061270 -XX:MaxDirectMemorySize="),
                    budget.jvmArgs());
            assertTrue(json.contains("\"direct\": " + budget.usage(Category.DIRECT).quota()), json);
        }
    }

    @Test
    void configErrorIsIllegalConfigurationWithFlinksMessage() {
        IllegalConfigurationException e = assertThrows(IllegalConfigurationException.class,
                () -> Runtimes.oneGiB().property("taskmanager.memory.process.size", "64m").build());
        assertTrue(e.getMessage().startsWith("TaskManager memory configuration failed"), e.getMessage());
        assertEquals(-8, e.status());
        assertThrows(IllegalConfigurationException.class,
                () -> Runtimes.oneGiB().property("taskmanager.memory.managed.fraction", "2.5").build());
    }

    @Test
    void malformedDynamicPropertyIsTheLibrarysInvalidArgument() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> MemBudget.builder().dynamicProperty("no-equals-sign").build());
        assertTrue(e.getMessage().contains("expected 'key=value'"), e.getMessage());
    }

    @Test
    void keysThatWouldBeSplitDifferentlyAreRefusedBeforeTheCall() {
        // "a=b" + "c" would reach the library as "a=b=c": key "a", silently another option.
        assertThrows(InvalidArgumentException.class, () -> MemBudget.builder().property("a=b", "c"));
        assertThrows(InvalidArgumentException.class, () -> MemBudget.builder().property(" ", "c"));
        // A NUL would cut the C string short.
        assertThrows(InvalidArgumentException.class,
                () -> MemBudget.builder().property("taskmanager.memory.process.size", "1g\0junk"));
    }

    @Test
    void dynamicPropertiesAndMapsAreTheSameOptions() {
        try (MemBudget a = MemBudget.builder().ignoreContainer(true)
                        .dynamicProperty("taskmanager.memory.process.size=2g").build();
                MemBudget b = MemBudget.builder().ignoreContainer(true)
                        .properties(Map.of("taskmanager.memory.process.size", "2g")).build()) {
            assertEquals(a.planJson(), b.planJson());
            assertTrue(a.planJson().contains("\"total_process_memory\": 2147483648"));
        }
    }

    @Test
    void configFileIsRead(@TempDir Path dir) throws Exception {
        Path conf = dir.resolve("flink-conf.yaml");
        Files.writeString(conf, "taskmanager.memory.process.size: 1536m\n");
        try (MemBudget budget = MemBudget.builder().configFile(conf).ignoreContainer(true).build()) {
            assertTrue(budget.planJson().contains("\"total_process_memory\": 1610612736"));
        }
        IllegalConfigurationException e = assertThrows(IllegalConfigurationException.class,
                () -> MemBudget.builder().configFile(dir.resolve("missing.yaml")).build());
        assertTrue(e.getMessage().contains("missing.yaml"), e.getMessage());
    }

    @Test
    void theEnvironmentIsReadWhenAsked() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(ChildJvm.command(EnvironmentProbe.class));
        pb.environment().put("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE", "3g");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertEquals("\"total_process_memory\": 3221225472", out.strip());
    }

    @Test
    void jobManagerHasNoNetworkBuffersOrManagedMemory() {
        try (MemBudget jm = MemBudget.builder().role(Role.JOBMANAGER)
                .property("jobmanager.memory.process.size", "1g").ignoreContainer(true).build()) {
            assertTrue(jm.planJson().contains("\"role\": \"jobmanager\""));
            UnavailableException e = assertThrows(UnavailableException.class,
                    () -> jm.createLocalBufferPool(1, 2));
            assertTrue(e.getMessage().contains("no network buffers"), e.getMessage());
            assertEquals(0, jm.usage(Category.MANAGED).quota());
        }
    }

    @Test
    void usageReportsQuotasAndUnlimitedTotals() {
        try (MemBudget budget = Runtimes.open()) {
            CategoryUsage direct = budget.usage(Category.DIRECT);
            assertEquals(Category.DIRECT, direct.category());
            assertEquals(134217728L, direct.quota());
            assertTrue(direct.enforced() && direct.hasQuota());
            assertEquals(0, direct.used());
            CategoryUsage network = budget.usage(Category.NETWORK);
            assertEquals(2048L * 32768L, network.used()); // the network pool is charged up front
        }
    }

    @Test
    void aClosedRuntimeIsRefusedWithTheLibrarysMessage() {
        MemBudget budget = Runtimes.open();
        budget.close();
        assertTrue(budget.isClosed());
        budget.close(); // idempotent
        InvalidHandleException e = assertThrows(InvalidHandleException.class,
                () -> budget.reserve(Category.HEAP, 1));
        assertTrue(e.getMessage().startsWith("invalid runtime handle 0x"), e.getMessage());
        assertTrue(e.getMessage().contains("already freed"), e.getMessage());
        assertThrows(InvalidHandleException.class, budget::planJson);
        assertThrows(InvalidHandleException.class, () -> budget.usage(Category.HEAP));
        assertThrows(InvalidHandleException.class, () -> budget.createLocalBufferPool(1, 1));
        assertThrows(InvalidHandleException.class, () -> budget.managedMemory().allocatePages(1, 1));
        assertTrue(budget.toString().endsWith(", closed]"));
    }

    @Test
    void aRuntimeClosedOnAnotherThreadIsRefusedOnThisOne() throws Exception {
        MemBudget budget = Runtimes.open();
        budget.reserve(Category.HEAP, 1 << 20);
        Thread t = new Thread(budget::close);
        t.start();
        t.join();
        // Everything reserved was released with the runtime; this thread's call is refused.
        assertThrows(InvalidHandleException.class, () -> budget.release(Category.HEAP, 1 << 20));
        assertTrue(budget.isClosed());
    }
}
