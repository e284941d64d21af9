package io.membudget;

/** Runtimes the tests share the shape of: a 1 GiB TaskManager, container ignored. */
final class Runtimes {
    private Runtimes() {}

    static MemBudget.Builder oneGiB() {
        return MemBudget.builder()
                .property("taskmanager.memory.process.size", "1g")
                .ignoreContainer(true);
    }

    static MemBudget open() {
        return oneGiB().build();
    }
}
