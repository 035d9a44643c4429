using SaeGpu.Cli;

return SaeCli.Run(args, Console.Out, Console.Error);
