package io.warmstage.job.cli;

import io.warmstage.storage.Redaction;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code warmstage} command line: {@code demo}, {@code stage}, {@code inspect}, {@code
 * generate}, {@code watch}, {@code cache}.
 */
@Command(
        name = "warmstage",
        description = "Pre-stage safetensors model weights into device memory with Apache Flink.",
        mixinStandardHelpOptions = true,
        version = "warmstage 0.1.0",
        subcommands = {
            DemoCommand.class,
            StageCommand.class,
            InspectCommand.class,
            GenerateCommand.class,
            WatchCommand.class,
            CacheCommand.class
        })
public final class WarmstageCli implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "give a command");
    }

    /** Runs the CLI and exits with its status: 0 success, 1 failure, 2 usage error. */
    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI and returns its exit status. */
    public static int execute(String... args) {
        CommandLine cmd = new CommandLine(new WarmstageCli());
        CommandLine.IParameterExceptionHandler usage = cmd.getParameterExceptionHandler();
        cmd.setParameterExceptionHandler(
                (e, argv) ->
                        usage.handleParseException(
                                new CommandLine.ParameterException(
                                        e.getCommandLine(), Redaction.text(e.getMessage()), e),
                                argv));
        cmd.setExecutionExceptionHandler(
                (e, c, parsed) -> {
                    Throwable root = e;
                    if (root instanceof CliFailure || root instanceof IllegalArgumentException) {
                        c.getErr().println("warmstage: " + Redaction.text(root.getMessage()));
                        return 1;
                    }
                    String failed = JobFailure.describe(e);
                    if (failed != null) {
                        c.getErr().println("warmstage: " + Redaction.text(failed));
                        return 1;
                    }
                    throw e;
                });
        return cmd.execute(args);
    }
}
