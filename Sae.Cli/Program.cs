using SaeGpu.Cli;

#if SAE_EXTRACT
const string extractUsage = ExtractCommand.Usage;
#else
const string extractUsage = "sae extract              (not in this build: it was built with -p:SaeExtract=false)";
#endif
string usage = "Usage: sae <command> [options]\n\nCommands:\n" + string.Join("\n\n", TrainCommand.Usage, CompareCommand.Usage, AbsorptionCommand.Usage, ItdaCommand.Usage, DarkMatterCommand.Usage, EvalCommand.Usage, extractUsage, BenchCommand.Usage);
try
{
    if (args.Length == 0 || args[0] is "--help" or "-h" or "help") { Console.WriteLine(usage); return args.Length == 0 ? 1 : 0; }
    return args[0] switch
    {
        "train" => TrainCommand.Run(args.Skip(1), Console.Out),
        "bench" => BenchCommand.Run(args.Skip(1), Console.Out),
        "compare" => CompareCommand.Run(args.Skip(1), Console.Out),
        "absorption" => AbsorptionCommand.Run(args.Skip(1), Console.Out),
        "itda" => ItdaCommand.Run(args[1..], Console.Out),
        "darkmatter" => DarkMatterCommand.Run(args.Skip(1), Console.Out),
        "eval" => EvalCommand.Run(args.Skip(1), Console.Out, writeCodes: false),
        "encode" => EvalCommand.Run(args.Skip(1), Console.Out, writeCodes: true),
#if SAE_EXTRACT
        "extract" => ExtractCommand.Run(args.Skip(1), Console.Out),
#else
        "extract" => throw new CliException("This sae was built without 'sae extract' (-p:SaeExtract=false); use a normal build (dotnet build) for extraction."),
#endif
        _ => throw new CliException($"Unknown command '{args[0]}'. Run 'sae --help'."),
    };
}
catch (CliException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
