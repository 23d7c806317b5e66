import ICLCore
