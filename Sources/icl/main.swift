import ICLKit
